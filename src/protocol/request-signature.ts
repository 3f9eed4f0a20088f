/**
 * Verification of signed HTTP API requests (Pusher's "auth_signature" scheme):
 * HMAC-SHA256 over `METHOD\nPATH\nQUERY`, where QUERY is every parameter but
 * auth_signature, keys lower-cased and sorted, joined unencoded as `k=v&k=v`.
 */
import { hmacSha256Hex, md5Hex, timingSafeEqualStrings } from "./signatures.js";

/** Pusher rejects requests whose timestamp is further than this from the server's clock. */
export const AUTH_TIMESTAMP_WINDOW_SECONDS = 600;

/**
 * A query's decoded parameters; the last value wins when a key repeats. Looked up
 * by a scan rather than a Map: a request has a handful, and a Map hashes every
 * freshly sliced key (2 % of a signed publish's instructions, by callgrind).
 */
export class QueryParams {
  private readonly keys: string[] = [];
  private readonly values: string[] = [];

  add(key: string, value: string): void {
    this.keys.push(key);
    this.values.push(value);
  }

  get(key: string): string | undefined {
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i] === key) return this.values[i];
    return undefined;
  }

  /** Each key once, with its last value. */
  toMap(): Map<string, string> {
    const map = new Map<string, string>();
    for (let i = 0; i < this.keys.length; i++) map.set(this.keys[i]!, this.values[i]!);
    return map;
  }
}

/** A request's query: its decoded parameters, and the parameters as they arrived. */
export interface SignedQuery {
  params: QueryParams;
  /** The raw `k=v` pairs but auth_signature, in the order received. */
  rawPairs: readonly string[];
}

export interface SignedRequest {
  /** In upper case, as signed. */
  method: "GET" | "POST";
  /** `/apps/{id}/...`, without any path prefix the server is mounted under. */
  path: string;
  query: SignedQuery;
  /** The body's bytes as received (empty for GET). */
  body: Buffer;
}

export type SignatureCheck = { ok: true } | { ok: false; message: string };

/** Decodes a query string as URLSearchParams would (`+` is a space, `%XX` escapes; a malformed escape is kept as written). */
export function parseQuery(rawQuery: string): SignedQuery {
  const params = new QueryParams();
  // One look at the whole query spares a look at each part in the usual case.
  const encoded = rawQuery.includes("%") || rawQuery.includes("+");
  const rawPairs: string[] = [];
  let start = 0;
  while (start < rawQuery.length) {
    let end = rawQuery.indexOf("&", start);
    if (end < 0) end = rawQuery.length;
    const pair = rawQuery.slice(start, end);
    start = end + 1;
    if (pair.length === 0) continue;
    const equals = pair.indexOf("=");
    const rawKey = equals < 0 ? pair : pair.slice(0, equals);
    const rawValue = equals < 0 ? "" : pair.slice(equals + 1);
    const key = encoded ? decodeQueryComponent(rawKey) : rawKey;
    params.add(key, encoded ? decodeQueryComponent(rawValue) : rawValue);
    if (key !== "auth_signature") rawPairs.push(pair);
  }
  return { params, rawPairs };
}

/**
 * The query as Pusher signs it: every parameter but auth_signature, keys
 * lower-cased and sorted, `k=v` joined by `&`, values unencoded.
 */
export function canonicalQuery(params: ReadonlyMap<string, string>): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of params) {
    if (key !== "auth_signature") pairs.push([key.toLowerCase(), value]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join("&");
}

function decodeQueryComponent(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  const spaced = text.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/**
 * The query string that signs a request as the Pusher server SDKs do, for Herald's
 * own CLI. `path` is `/apps/{id}/...`.
 */
export function signedQueryString(
  app: { key: string; secret: string },
  method: SignedRequest["method"],
  path: string,
  body: string,
  nowSeconds: number,
): string {
  const params = new Map([
    ["auth_key", app.key],
    ["auth_timestamp", String(Math.floor(nowSeconds))],
    ["auth_version", "1.0"],
  ]);
  if (body !== "") params.set("body_md5", md5Hex(body));
  const signature = hmacSha256Hex(app.secret, stringToSign(method, path, canonicalQuery(params)));
  return new URLSearchParams([...params, ["auth_signature", signature]]).toString();
}

export function stringToSign(method: SignedRequest["method"], path: string, signedQuery: string): string {
  return `${method}\n${path}\n${signedQuery}`;
}

export function verifyRequestSignature(
  request: SignedRequest,
  app: { key: string; secret: string },
  nowSeconds: number,
): SignatureCheck {
  const query = request.query.params;
  // The key and the body's MD5 are public values: only the signature needs a timing-safe comparison.
  const authKey = query.get("auth_key");
  if (!authKey) return fail("The request has no auth_key parameter; sign it with a Pusher server SDK.");
  if (authKey !== app.key) return fail("auth_key is not this app's key.");

  const timestamp = Number(query.get("auth_timestamp"));
  // A missing parameter is NaN here.
  if (!Number.isInteger(timestamp)) {
    return fail("The request has no numeric auth_timestamp parameter.");
  }
  const skew = Math.abs(nowSeconds - timestamp);
  if (skew > AUTH_TIMESTAMP_WINDOW_SECONDS) {
    return fail(
      `auth_timestamp is ${Math.round(skew)} s away from the server's clock (at most ${AUTH_TIMESTAMP_WINDOW_SECONDS} s allowed); check the clocks.`,
    );
  }
  const version = query.get("auth_version");
  if (version !== undefined && version !== "1.0") return fail(`auth_version ${version} is not supported; use 1.0.`);

  if (request.body.length > 0) {
    const bodyMd5 = query.get("body_md5");
    if (!bodyMd5) return fail("The request has a body but no body_md5 parameter.");
    const digest = md5Hex(request.body);
    if (bodyMd5 !== digest && bodyMd5.toLowerCase() !== digest) {
      return fail("body_md5 does not match the MD5 of the body received.");
    }
  }

  const signature = query.get("auth_signature");
  if (!signature) return fail("The request has no auth_signature parameter.");
  // The SDKs send the parameters already in signing order, so the raw order is
  // tried first; only a request that fails it pays for sorting and decoding.
  // The SDKs sign the path as written (`/users/{user id}/...`) while their HTTP
  // clients percent-encode it on the wire (a space, an accent), so an encoded path
  // is also tried decoded. Every form needs the secret to sign, so accepting them
  // all weakens nothing.
  const { method, path } = request;
  const asSent = request.query.rawPairs.join("&");
  if (signedAs(signature, app.secret, method, path, asSent)) return { ok: true };
  const canonical = canonicalQuery(query.toMap());
  if (canonical !== asSent && signedAs(signature, app.secret, method, path, canonical)) return { ok: true };
  const decoded = path.includes("%") ? decodePath(path) : path;
  if (decoded !== path) {
    if (signedAs(signature, app.secret, method, decoded, asSent)) return { ok: true };
    if (canonical !== asSent && signedAs(signature, app.secret, method, decoded, canonical)) return { ok: true };
  }
  return fail("auth_signature does not match; check the app secret and that the path is signed without any proxy prefix.");
}

function signedAs(signature: string, secret: string, method: SignedRequest["method"], path: string, signedQuery: string): boolean {
  return signatureMatches(signature, hmacSha256Hex(secret, stringToSign(method, path, signedQuery)));
}

function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** Hex signatures compare case-insensitively; the SDKs send lower case, so that is tried first. */
function signatureMatches(given: string, expected: string): boolean {
  return timingSafeEqualStrings(given, expected) || timingSafeEqualStrings(given.toLowerCase(), expected);
}

function fail(message: string): SignatureCheck {
  return { ok: false, message };
}

/**
 * Verification of signed HTTP API requests (Pusher's "auth_signature" scheme):
 * HMAC-SHA256 over `METHOD\nPATH\nQUERY`, where QUERY is every parameter but
 * auth_signature, keys lower-cased and sorted, joined unencoded as `k=v&k=v`.
 */
import { hmacSha256Hex, md5Hex, timingSafeEqualStrings } from "./signatures.js";

/** Pusher rejects requests whose timestamp is further than this from the server's clock. */
export const AUTH_TIMESTAMP_WINDOW_SECONDS = 600;

export interface SignedRequest {
  method: string;
  /** `/apps/{id}/...`, without any path prefix the server is mounted under. */
  path: string;
  /** Decoded query parameters; the last value wins when a key repeats. */
  query: ReadonlyMap<string, string>;
  body: string;
}

export type SignatureCheck = { ok: true } | { ok: false; message: string };

export function parseQuery(rawQuery: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(rawQuery)) params.set(key, value);
  return params;
}

export function stringToSign(method: string, path: string, query: ReadonlyMap<string, string>): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of query) {
    if (key !== "auth_signature") pairs.push([key.toLowerCase(), value]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `${method.toUpperCase()}\n${path}\n${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`;
}

export function verifyRequestSignature(
  request: SignedRequest,
  app: { key: string; secret: string },
  nowSeconds: number,
): SignatureCheck {
  const { query } = request;
  const authKey = query.get("auth_key");
  if (!authKey) return fail("The request has no auth_key parameter; sign it with a Pusher server SDK.");
  if (!timingSafeEqualStrings(authKey, app.key)) return fail("auth_key is not this app's key.");

  const timestamp = Number(query.get("auth_timestamp"));
  if (!query.has("auth_timestamp") || !Number.isInteger(timestamp)) {
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
    if (!timingSafeEqualStrings(bodyMd5.toLowerCase(), md5Hex(request.body))) {
      return fail("body_md5 does not match the MD5 of the body received.");
    }
  }

  const signature = query.get("auth_signature");
  if (!signature) return fail("The request has no auth_signature parameter.");
  const expected = hmacSha256Hex(app.secret, stringToSign(request.method, request.path, query));
  if (!timingSafeEqualStrings(signature.toLowerCase(), expected)) {
    return fail("auth_signature does not match; check the app secret and that the path is signed without any proxy prefix.");
  }
  return { ok: true };
}

function fail(message: string): SignatureCheck {
  return { ok: false, message };
}

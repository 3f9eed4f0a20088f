import { describe, expect, it } from "vitest";
import { hmacSha256Hex, md5Hex, timingSafeEqualStrings, verifyChannelAuth, verifyPrivateChannelAuth, verifyUserAuth } from "../../src/protocol/signatures.js";
import { channelNameProblem } from "../../src/protocol/channel-names.js";
import { canonicalQuery, parseQuery, stringToSign, verifyRequestSignature } from "../../src/protocol/request-signature.js";

// The vectors of PROTOCOL.md, which pusher-js and the Pusher server SDKs agree with.
const app = { key: "278d425bdf160c739803", secret: "7ad3773142a6692b25b8" };

describe("channel signatures", () => {
  it("signs socket_id:channel for private channels", () => {
    expect(hmacSha256Hex(app.secret, "1234.1234:private-foobar")).toBe(
      "58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
    );
  });

  it("signs socket_id::user::user_data for sign-in", () => {
    const signature = "4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba";
    expect(hmacSha256Hex(app.secret, '1234.1234::user::{"id":"12345"}')).toBe(signature);
    expect(verifyUserAuth(`${app.key}:${signature}`, app, "1234.1234", '{"id":"12345"}')).toBe(true);
    expect(verifyUserAuth(`${app.key}:${signature}`, app, "1234.1234", '{"id":"12346"}')).toBe(false);
    expect(verifyUserAuth(`${app.key}:${signature}`, app, "1234.1235", '{"id":"12345"}')).toBe(false);
    expect(verifyUserAuth(signature, app, "1234.1234", '{"id":"12345"}')).toBe(false);
  });

  it("accepts the right key:signature and rejects every variation", () => {
    const auth = `${app.key}:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4`;
    expect(verifyChannelAuth(auth, app, "1234.1234", "private-foobar")).toBe(true);
    expect(verifyChannelAuth(auth, app, "1234.1235", "private-foobar")).toBe(false);
    expect(verifyChannelAuth(auth, app, "1234.1234", "private-foobaz")).toBe(false);
    expect(verifyChannelAuth(auth.replace("278d", "278e"), app, "1234.1234", "private-foobar")).toBe(false);
    expect(verifyChannelAuth("", app, "1234.1234", "private-foobar")).toBe(false);
    expect(verifyChannelAuth(":", app, "1234.1234", "private-foobar")).toBe(false);
    expect(verifyChannelAuth("no-colon", app, "1234.1234", "private-foobar")).toBe(false);
  });

  it("includes channel_data in presence signatures", () => {
    const channelData = '{"user_id":"1","user_info":{"name":"Ada"}}';
    const signature = hmacSha256Hex(app.secret, `1.2:presence-room:${channelData}`);
    expect(verifyChannelAuth(`${app.key}:${signature}`, app, "1.2", "presence-room", channelData)).toBe(true);
    expect(verifyChannelAuth(`${app.key}:${signature}`, app, "1.2", "presence-room", channelData.replace("Ada", "Eve"))).toBe(false);
  });

  // The `pusher` SDK's own vectors (key "aaaa", secret "tofu"): authorizeChannel with and without data.
  const sdkApp = { key: "aaaa", secret: "tofu" };
  const withoutData = "aaaa:efa6cf7644a0b35cba36aa0f776f3cbf7bb60e95ea2696bde1dbe8403b61bd7c";
  const withData = "aaaa:f41faf9ead2ea76772cc6b1168363057459f02499ae4d92e88229dc7f4efa2d4";

  it("accepts a private signature over socket_id:channel:channel_data when that channel_data is sent", () => {
    expect(verifyPrivateChannelAuth(withData, sdkApp, "123.456", "test", '{"foo":"bar"}')).toBe(true);
    expect(verifyPrivateChannelAuth(withoutData, sdkApp, "123.456", "test", undefined)).toBe(true);
    const utf8 = "aaaa:2a229263e89d9c50524fd80c2e88be2843379f6931e28995e2cc214282c9db0c";
    expect(verifyPrivateChannelAuth(utf8, sdkApp, "1.1", "test", '"ą§¶™€łü€ß£"')).toBe(true);
  });

  it("accepts a private signature over socket_id:channel when channel_data comes along", () => {
    expect(verifyPrivateChannelAuth(withoutData, sdkApp, "123.456", "test", '{"foo":"bar"}')).toBe(true);
  });

  it("refuses a private signature over channel_data other than the one sent, or not sent", () => {
    expect(verifyPrivateChannelAuth(withData, sdkApp, "123.456", "test", '{"foo":"baz"}')).toBe(false);
    expect(verifyPrivateChannelAuth(withData, sdkApp, "123.456", "test", undefined)).toBe(false);
    expect(verifyPrivateChannelAuth(withData, sdkApp, "123.457", "test", '{"foo":"bar"}')).toBe(false);
    expect(verifyPrivateChannelAuth(withData, { ...sdkApp, secret: "tofv" }, "123.456", "test", '{"foo":"bar"}')).toBe(false);
    expect(verifyPrivateChannelAuth(withData.replace("aaaa", "aaab"), sdkApp, "123.456", "test", '{"foo":"bar"}')).toBe(false);
  });

  it("holds presence to the exact channel_data: no fallback to socket_id:channel", () => {
    expect(verifyChannelAuth(withoutData, sdkApp, "123.456", "test", '{"foo":"bar"}')).toBe(false);
    expect(verifyChannelAuth(withData, sdkApp, "123.456", "test", '{"foo":"bar"}')).toBe(true);
  });

  it("verifies the SDK's sign-in vector with UTF-8 in user_data", () => {
    const auth = "aaaa:620494cee53d6c568b49598313194088afda37218f0d059af03c0c898ed61ff4";
    expect(verifyUserAuth(auth, sdkApp, "1.1", '{"id":"ą§¶™€łü€ß£"}')).toBe(true);
  });

  it("compares strings of different lengths as unequal", () => {
    expect(timingSafeEqualStrings("abc", "abcd")).toBe(false);
    expect(timingSafeEqualStrings("abc", "abc")).toBe(true);
    expect(timingSafeEqualStrings("abc", "abd")).toBe(false);
    expect(timingSafeEqualStrings("", "")).toBe(true);
  });
});

describe("HTTP request signatures", () => {
  const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
  const query = parseQuery(
    `auth_key=${app.key}&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f` +
      "&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
  );
  const request = { method: "POST" as const, path: "/apps/3/events", query, body: Buffer.from(body) };

  it("computes the body MD5 of the vector", () => {
    expect(md5Hex(body)).toBe("ec365a775a4cd0599faeb73354201b6f");
  });

  it("verifies the vector at its own time and within 600 s of it", () => {
    expect(verifyRequestSignature(request, app, 1353088179)).toEqual({ ok: true });
    expect(verifyRequestSignature(request, app, 1353088179 + 600)).toEqual({ ok: true });
  });

  it("accepts the signature in upper case", () => {
    const upper = parseQuery(query.rawPairs.join("&") + `&auth_signature=${query.params.get("auth_signature")!.toUpperCase()}`);
    expect(upper.params.get("auth_signature")).toMatch(/^[0-9A-F]{64}$/);
    expect(verifyRequestSignature({ ...request, query: upper }, app, 1353088179)).toEqual({ ok: true });
  });

  it("rejects a stale timestamp with a message about clocks", () => {
    const result = verifyRequestSignature(request, app, 1353088179 + 601);
    expect(result).toMatchObject({ ok: false, message: expect.stringContaining("clock") });
  });

  it("rejects a changed body, path, method or secret", () => {
    expect(verifyRequestSignature({ ...request, body: Buffer.from(body.replace("foo", "fop")) }, app, 1353088179).ok).toBe(false);
    expect(verifyRequestSignature({ ...request, path: "/apps/4/events" }, app, 1353088179).ok).toBe(false);
    expect(verifyRequestSignature({ ...request, method: "GET" as const }, app, 1353088179).ok).toBe(false);
    expect(verifyRequestSignature(request, { ...app, secret: "other" }, 1353088179).ok).toBe(false);
  });

  it("signs lower-cased sorted keys with unencoded values", () => {
    const q = parseQuery("info=user_count%2Csubscription_count&auth_key=k&Filter_By_Prefix=presence-&auth_signature=x");
    expect(stringToSign("GET", "/apps/1/channels", canonicalQuery(q.params.toMap()))).toBe(
      "GET\n/apps/1/channels\nauth_key=k&filter_by_prefix=presence-&info=user_count,subscription_count",
    );
    expect(q.params.get("info")).toBe("user_count,subscription_count");
    expect([parseQuery("a=1&a=2").params.get("a"), parseQuery("a=1").params.get("b"), parseQuery("a").params.get("a")]).toEqual(["2", undefined, ""]);
  });

  it.each([
    ["already canonical", "a=1&b=2&auth_signature=s", "a=1&b=2"],
    ["out of order", "b=2&a=1", "a=1&b=2"],
    ["upper-case keys", "B=2&a=1", "a=1&b=2"],
    ["encoded values and spaces", "a=x%20y&b=p+q", "a=x y&b=p q"],
    ["a repeated key (the last wins)", "a=1&a=2", "a=2"],
    ["a key without a value", "a&b=2", "a=&b=2"],
    ["a malformed escape, kept as written", "a=%zz", "a=%zz"],
  ])("canonicalises a query %s", (_, raw, signed) => {
    expect(canonicalQuery(parseQuery(raw).params.toMap())).toBe(signed);
  });

  it("accepts a path signed as written and sent percent-encoded, as the SDKs do with user ids", () => {
    const path = "/apps/3/users/Ada Lovelace/terminate_connections";
    const signedQuery = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0";
    const signature = hmacSha256Hex(app.secret, stringToSign("POST", path, signedQuery));
    const sent = { method: "POST" as const, path: encodeURI(path), query: parseQuery(`${signedQuery}&auth_signature=${signature}`), body: Buffer.alloc(0) };
    expect(sent.path).toContain("%20");
    expect(verifyRequestSignature(sent, app, 1353088179)).toEqual({ ok: true });
    expect(verifyRequestSignature({ ...sent, path: encodeURI("/apps/3/users/Ada Lovelacf/terminate_connections") }, app, 1353088179).ok).toBe(false);
  });

  it("accepts a signature over the canonical form when the parameters arrive in another order", () => {
    const shuffled = parseQuery(
      "body_md5=ec365a775a4cd0599faeb73354201b6f&auth_version=1.0&auth_timestamp=1353088179&auth_key=278d425bdf160c739803" +
        "&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
    );
    expect(verifyRequestSignature({ ...request, query: shuffled }, app, 1353088179)).toEqual({ ok: true });
  });
});

describe("channel names", () => {
  it.each(["#server-to-user-ada+tag@example.com", "#server-to-user-Ada Lovelace", "#server-to-user-ą§¶™€łü€ß£", "#server-to-user-team:42"])(
    "accepts %j: a #server-to-user- name holds any user id the SDKs allow",
    (name) => expect(channelNameProblem(name, 200)).toBeNull(),
  );

  it.each(["#server-to-user-", "#server-to-user-a\nb", "#server-to-user-a\u0000", "private-a b", "#watchers:1", "private-a:b"])("refuses %j", (name) => {
    expect(channelNameProblem(name, 200)).toEqual(expect.any(String));
  });

  it("holds #server-to-user- names to the app's length limit", () => {
    expect(channelNameProblem(`#server-to-user-${"x".repeat(20)}`, 30)).toContain("at most 30");
  });
});

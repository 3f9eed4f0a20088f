import { describe, expect, it } from "vitest";
import { hmacSha256Hex, md5Hex, timingSafeEqualStrings, verifyChannelAuth, verifyUserAuth } from "../../src/protocol/signatures.js";
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
    const upper = new Map(query.params);
    upper.set("auth_signature", upper.get("auth_signature")!.toUpperCase());
    expect(verifyRequestSignature({ ...request, query: { ...query, params: upper } }, app, 1353088179)).toEqual({ ok: true });
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
    expect(stringToSign("GET", "/apps/1/channels", canonicalQuery(q.params))).toBe(
      "GET\n/apps/1/channels\nauth_key=k&filter_by_prefix=presence-&info=user_count,subscription_count",
    );
    expect(q.params.get("info")).toBe("user_count,subscription_count");
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
    expect(canonicalQuery(parseQuery(raw).params)).toBe(signed);
  });

  it("accepts a signature over the canonical form when the parameters arrive in another order", () => {
    const shuffled = parseQuery(
      "body_md5=ec365a775a4cd0599faeb73354201b6f&auth_version=1.0&auth_timestamp=1353088179&auth_key=278d425bdf160c739803" +
        "&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c",
    );
    expect(verifyRequestSignature({ ...request, query: shuffled }, app, 1353088179)).toEqual({ ok: true });
  });
});

/** HTTP API requests signed by hand, as the Pusher SDKs sign them, with ways to break them. */
import { hmacSha256Hex, md5Hex } from "../../src/protocol/signatures.js";
import type { AppConfig } from "./herald.js";

export interface SignatureTweaks {
  timestamp?: number;
  bodyMd5?: string;
  secret?: string;
}

/** `origin` is `http://host:port` (and any path prefix); the signature covers `path` alone. */
export function signedUrl(
  origin: string,
  app: AppConfig,
  method: string,
  path: string,
  body = "",
  params: Record<string, string> = {},
  tweak: SignatureTweaks = {},
): string {
  const query: Record<string, string> = {
    auth_key: app.key,
    auth_timestamp: String(tweak.timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: "1.0",
    ...params,
  };
  if (body) query.body_md5 = tweak.bodyMd5 ?? md5Hex(body);
  const sorted = Object.keys(query).sort().map((key) => `${key}=${query[key]}`).join("&");
  const signature = hmacSha256Hex(tweak.secret ?? app.secret, `${method}\n${path}\n${sorted}`);
  return `${origin}${path}?${sorted}&auth_signature=${signature}`;
}

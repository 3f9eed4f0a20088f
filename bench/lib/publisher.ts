/**
 * Publishes events over the signed HTTP API with a bounded number of requests in
 * flight, signing each one as the Pusher SDKs do (the baseline ignores it).
 */
import http from "node:http";
import { hmacSha256Hex, md5Hex } from "../../src/protocol/signatures.js";
import { BENCH_APP } from "./servers.js";

/**
 * Keep-alive, with idle connections dropped after 5 s: uWS closes one idle for 10 s, and a
 * request sent on it as it does gets no answer (a "socket hang up").
 */
export const keepAliveAgent = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 5000 });

const agent = keepAliveAgent();

export function signedPath(path: string, body: string): string {
  const query = `auth_key=${BENCH_APP.key}&auth_timestamp=${Math.floor(Date.now() / 1000)}&auth_version=1.0&body_md5=${md5Hex(body)}`;
  return `${path}?${query}&auth_signature=${hmacSha256Hex(BENCH_APP.secret, `POST\n${path}\n${query}`)}`;
}

export function post(port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: "127.0.0.1", port, method: "POST", path: signedPath(path, body), agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

/**
 * Sends `count` requests built by `body(i)`, at most `inFlight` at once, and at
 * most `ratePerSecond` per second when given. Resolves with the failures.
 */
export async function publishMany(
  port: number,
  path: string,
  count: number,
  body: (index: number) => string,
  inFlight: number,
  ratePerSecond?: number,
): Promise<{ failed: number }> {
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < count) {
      const index = next++;
      if (ratePerSecond) {
        const due = started + (index * 1000) / ratePerSecond;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const status = await post(port, path, body(index)).catch(() => 0);
      if (status !== 200) failed += 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return { failed };
}

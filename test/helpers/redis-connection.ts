/** A throwaway redis-server and a connection to it, for unit tests of the cluster layer's Redis parts. */
import { Redis } from "ioredis";
import pino, { type Logger } from "pino";
import { Writable } from "node:stream";
import { afterAll, beforeAll } from "vitest";
import { startRedis, type RedisServer } from "./redis.js";

/** Started before the file's tests, as Herald's own connection (commands fail at once while Redis is away); read the fields inside tests. */
export function useRedisConnection(): { server: RedisServer; redis: Redis } {
  const held = {} as { server: RedisServer; redis: Redis };
  beforeAll(async () => {
    held.server = await startRedis();
    held.redis = new Redis(held.server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    held.redis.on("error", () => undefined);
    await new Promise((ready) => held.redis.once("ready", ready));
  });
  afterAll(async () => {
    held.redis.disconnect();
    await held.server.kill();
  });
  return held;
}

/** A logger whose lines land in `lines`, parsed. */
export function capturedLog<Line extends { msg: string }>(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Line), done()) }));
  return { log, lines };
}

/** The cluster tests' Redis: the benchmark's throwaway redis-server, or none with HERALD_SKIP_REDIS_TESTS=1. */
export { startRedis, type RedisServer } from "../../bench/lib/redis-server.js";

export const SKIP_REDIS_TESTS = process.env.HERALD_SKIP_REDIS_TESTS === "1";

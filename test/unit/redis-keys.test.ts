import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import * as keys from "../../src/cluster/redis-keys.js";

/** Each builder with placeholder arguments, as the README writes the key. */
const PLACEHOLDERS: Record<string, string> = { appId: "{app}", channel: "{channel}", userId: "{user}", nodeId: "{node}", token: "{token}" };

function written(builder: (...args: string[]) => string): string {
  const names = /\(([^)]*)\)/.exec(builder.toString())![1]!.split(",").map((name) => name.trim().split(":")[0]!);
  // The app's hash tag is written {app}, so the builder's braces around it collapse.
  return builder(...names.map((name) => PLACEHOLDERS[name]!)).replace("{{app}}", "{app}");
}

describe("the Redis keys", () => {
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
  const table = [...readme.matchAll(/^\| `(herald:[^`]+)` \|/gm)].map((match) => match[1]);

  it("are all in the README's key table, and the table names no other", () => {
    // A …Prefix builder gives the start of other keys of the table, not a key of its own.
    const built = Object.entries(keys).filter(([name]) => !name.endsWith("Prefix")).map(([name, value]) =>
      typeof value === "function" ? written(value as (...args: string[]) => string) : name === "APP_CHANNEL_PREFIX" ? `${value}{app}` : String(value),
    );
    const unique = [...new Set(built)].sort();
    expect(unique).toEqual([...new Set(table)].sort());
  });

  it("share the app's hash tag for every per-app key", () => {
    expect(keys.membersKey("a", "presence-x")).toBe("herald:{a}:members:presence-x");
    expect(keys.cacheKey("a", "cache-x")).toMatch(/^herald:\{a\}:/);
  });
});

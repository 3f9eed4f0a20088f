import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { readConfig, USAGE } from "../../src/config.js";
import { SETTINGS, type Setting } from "../../src/settings.js";

/** The README's settings table: flags, variables and default of each row. */
function readmeRows(): Array<{ flags: string[]; envs: string[]; shownDefault: string }> {
  const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
  const table = readme.slice(readme.indexOf("| flag | environment | default | meaning |"));
  const lines = table.split("\n").slice(2);
  const rows = lines.slice(0, lines.findIndex((line) => !line.startsWith("|")));
  return rows.map((row) => {
    const [flags, envs, shownDefault] = row.split("|").slice(1, 4).map((cell) => cell.trim());
    const codes = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1]!);
    return { flags: codes(flags!), envs: codes(envs!), shownDefault: shownDefault!.replaceAll("`", "") };
  });
}

describe("the settings table", () => {
  const rows = readmeRows();

  it.each(SETTINGS.map((setting: Setting) => [setting.flag, setting] as const))("--%s is in the README with its variable and default", (_, setting) => {
    const row = rows.find((candidate) => candidate.flags.includes(`--${setting.flag}`));
    expect(row, `no README row for --${setting.flag}`).toBeDefined();
    expect(row!.envs).toContain(setting.env);
    expect(row!.shownDefault).toBe(setting.shownDefault ?? setting.default ?? "none");
  });

  it("has no README row for a setting that does not exist", () => {
    const known = new Set(SETTINGS.map((setting) => `--${setting.flag}`));
    expect(rows.flatMap((row) => row.flags).filter((flag) => !known.has(flag))).toEqual([]);
  });

  it("gives --help a line for every setting", () => {
    for (const setting of SETTINGS) expect(USAGE).toContain(`--${setting.flag} ${setting.value}`);
  });

  it("reads flags before variables before defaults, and checks ranges", () => {
    expect(readConfig(["--port", "7001"], { HERALD_PORT: "7002" })!.port).toBe(7001);
    expect(readConfig([], { HERALD_PORT: "7002" })!.port).toBe(7002);
    expect(readConfig([], {})!.port).toBe(6001);
    expect(readConfig([], { HERALD_PORT: "" })!.port).toBe(6001);
    expect(() => readConfig(["--pong-timeout", "0"], {})).toThrow("--pong-timeout / HERALD_PONG_TIMEOUT must be a whole number from 1 to 3600");
    expect(readConfig([], {})!.redis).toBeUndefined();
    expect(readConfig(["--redis-sentinels", "s:26379"], {})!.redis).toMatchObject({ sentinelName: "mymaster" });
  });
});

/**
 * Herald's Lua scripts (scripts/*.lua), each defined once on a Redis connection as
 * a command of its own. Callers declare the commands' types; this is the one place
 * that tells TypeScript the connection now has them.
 */
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { shippedFile } from "../shipped-files.js";

export interface ScriptSpec {
  /** The file in scripts/, which the build copies beside the compiled code. */
  readonly file: string;
  /** How many of the arguments are keys (the rest are ARGV). */
  readonly keys: number;
}

const sources = new Map<string, string>();

function source(file: string): string {
  let lua = sources.get(file);
  if (lua === undefined) sources.set(file, (lua = readFileSync(shippedFile(`cluster/scripts/${file}`), "utf8")));
  return lua;
}

/** Defines each script as a command named by its key in `specs`, and returns the connection typed with them. */
export function defineScripts<Commands>(redis: Redis, specs: { readonly [Name in keyof Commands & string]: ScriptSpec }): Commands {
  for (const [name, spec] of Object.entries(specs) as Array<[string, ScriptSpec]>) {
    redis.defineCommand(name, { numberOfKeys: spec.keys, lua: source(spec.file) });
  }
  return redis as unknown as Commands;
}

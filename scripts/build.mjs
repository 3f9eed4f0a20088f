// The build: the server's TypeScript bundled into dist with its dependencies (esbuild),
// one entry for each way Herald is started (main.js, cli.js, and worker.js for each worker
// thread) and the code they share split into chunks beside them, each loaded when first
// needed (the Redis cluster's code only with --redis). A start reads 17 files where the
// file-by-file build read some 250 (dist and node_modules), and costs about 40 % less CPU
// until it listens. The cluster's Lua scripts are copied beside the code (src/shipped-files.ts
// finds them), and the console page (web/console) is bundled into dist/web/console: one
// script, one stylesheet and the HTML, nothing fetched from elsewhere at run time. Types
// are checked by `npm run typecheck` (run with the tests), not here: the build stays a
// second long.
import { build } from "esbuild";
import { chmodSync, copyFileSync, cpSync, mkdirSync, rmSync } from "node:fs";

const dist = new URL("../dist/", import.meta.url);
rmSync(dist, { recursive: true, force: true });
const src = (file) => new URL(`../src/${file}`, import.meta.url).pathname;
await build({
  entryPoints: { main: src("main.ts"), cli: src("cli.ts"), worker: src("worker.ts") },
  outdir: dist.pathname,
  bundle: true,
  splitting: true,
  // Its native binary is loaded from its own directory.
  external: ["uWebSockets.js"],
  // The CommonJS dependencies (pino, prom-client, ioredis) require Node's own modules.
  banner: { js: 'import { createRequire as __heraldCreateRequire } from "node:module"; const require = __heraldCreateRequire(import.meta.url);' },
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  logLevel: "warning",
});
for (const bin of ["cli.js", "main.js"]) chmodSync(new URL(bin, dist), 0o755);

cpSync(new URL("../src/cluster/scripts/", import.meta.url), new URL("../dist/cluster/scripts/", import.meta.url), { recursive: true });

const out = new URL("../dist/web/console/", import.meta.url);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { console: new URL("../web/console/main.tsx", import.meta.url).pathname },
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: out.pathname,
  logLevel: "warning",
});
copyFileSync(new URL("../web/console/index.html", import.meta.url), new URL("index.html", out));

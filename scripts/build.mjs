// The build: the server's TypeScript transpiled file by file into dist (esbuild,
// no bundling, so dist mirrors src), the cluster's Lua scripts copied beside it,
// and the console page (web/console) bundled into dist/web/console: one script,
// one stylesheet and the HTML, nothing fetched from elsewhere at run time. Types
// are checked by `npm run typecheck` (run with the tests), not here: the build
// stays a second long.
import { build } from "esbuild";
import { chmodSync, copyFileSync, cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";

const dist = new URL("../dist/", import.meta.url);
rmSync(dist, { recursive: true, force: true });
const sources = readdirSync(new URL("../src/", import.meta.url), { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".ts"))
  .map((file) => new URL(`../src/${file}`, import.meta.url).pathname);
await build({
  entryPoints: sources,
  outbase: new URL("../src/", import.meta.url).pathname,
  outdir: dist.pathname,
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

// What tsc does not build: the console page (web/console), bundled into
// dist/web/console (one script, one stylesheet and the HTML, nothing fetched from
// elsewhere at run time), and the cluster's Lua scripts, copied beside the code.
import { build } from "esbuild";
import { copyFileSync, cpSync, mkdirSync } from "node:fs";

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

// Bundles the console page (web/console) into dist/web/console: one script, one
// stylesheet and the HTML, with nothing fetched from elsewhere at run time.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";

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

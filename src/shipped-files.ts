/**
 * Files Herald reads at run time beside its code: the cluster's Lua scripts, the console
 * page, the worker threads' entry. Found from the top of the tree, which is where this
 * module's code runs from both in dist/ (the build bundles it into a chunk at dist's top
 * level, scripts/build.mjs) and in src/ (the tests that import the sources).
 */
export function shippedFile(path: string): URL {
  return new URL(path, import.meta.url);
}

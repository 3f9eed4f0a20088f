/**
 * Prints where a V8 CPU profile (node --cpu-prof) spent its samples: self time by
 * function, heaviest first.
 *
 *   node dist-bench/bench/profile-summary.js bench/results/profiles/B2-herald.cpuprofile [top]
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-summary <file.cpuprofile> [top]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[] };
const selfHits = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (!hits) continue;
  total += hits;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules|dist|dist-bench)\//, "$1/")}:${lineNumber + 1}` : "";
  const label = `${functionName || "(anonymous)"} ${where}`.trim();
  selfHits.set(label, (selfHits.get(label) ?? 0) + hits);
}
const seconds = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${total} samples over ${seconds.toFixed(1)} s`);
for (const [label, hits] of [...selfHits].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 25))) {
  console.log(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${label}`);
}

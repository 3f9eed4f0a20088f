/** One measured quantity for both servers, and the table they make. */
export interface Row {
  scenario: string;
  metric: string;
  herald: number;
  baseline: number;
  /** How the ratio is read: lower (costs, times) or higher (rates) is better. */
  better: "lower" | "higher";
}

function format(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The middle value (the mean of the two middle ones for an even count): what a repeated measure reports. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function ratio(row: Row): number {
  return row.herald / row.baseline;
}

export function table(rows: Row[]): string {
  const header = ["scenario", "metric", "herald", "baseline", "herald/baseline"];
  const body = rows.map((row) => [row.scenario, row.metric, format(row.herald), format(row.baseline), format(ratio(row))]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => (column >= 2 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join(" | ")} |`;
  return [line(header), `|${widths.map((width, column) => (column >= 2 ? `${"-".repeat(width + 1)}:` : "-".repeat(width + 2))).join("|")}|`, ...body.map(line)].join("\n");
}

/**
 * A latency histogram with 10 µs buckets up to 2 s, mergeable across worker
 * processes so percentiles come from every sample on one clock.
 */
const BUCKET_MS = 0.01;
const BUCKETS = 200_000;

export type SparseHistogram = Record<number, number>;

export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS + 1);
  count = 0;

  add(ms: number): void {
    const bucket = Math.min(BUCKETS, Math.max(0, Math.floor(ms / BUCKET_MS)));
    this.counts[bucket]! += 1;
    this.count += 1;
  }

  toSparse(): SparseHistogram {
    const sparse: SparseHistogram = {};
    this.counts.forEach((count, bucket) => {
      if (count) sparse[bucket] = count;
    });
    return sparse;
  }

  merge(sparse: SparseHistogram): void {
    for (const [bucket, count] of Object.entries(sparse)) {
      this.counts[Number(bucket)]! += count;
      this.count += count;
    }
  }

  /** The latency in ms below which `fraction` of the samples fall. */
  percentile(fraction: number): number {
    if (this.count === 0) return NaN;
    const target = Math.ceil(this.count * fraction);
    let seen = 0;
    for (let bucket = 0; bucket <= BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= target) return (bucket + 1) * BUCKET_MS;
    }
    return BUCKETS * BUCKET_MS;
  }
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export function clockMs(): number {
  return performance.timeOrigin + performance.now();
}

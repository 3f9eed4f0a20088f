/**
 * A node keeps what Redis holds of its share (its members, its signed-in users) to put it
 * back should Redis lose its data (redis-recovery.ts, `restore`). A removal whose answer an
 * outage cut may or may not have been carried out, so its entry stays kept, unsure, until
 * the node is back in data Redis kept and reads whether Redis still holds it (`settle`):
 * carried out, it must not be put back by a later restore, whose resync would report it
 * gone a second time.
 */
export class CutRemovals {
  private readonly unsure = new Set<string>();

  /** `kept`: the share's entries as Redis last took them. */
  constructor(private readonly kept: { has(entry: string): boolean; delete(entry: string): boolean }) {}

  /** Awaits `removal`, which takes `entry` out of Redis: answered, the entry is no longer kept. */
  async remove<T>(entry: string, removal: Promise<T>): Promise<T> {
    const result = await removal.catch((error: unknown) => {
      if (this.kept.has(entry)) this.unsure.add(entry);
      throw error;
    });
    this.kept.delete(entry);
    this.unsure.delete(entry);
    return result;
  }

  /** `entry` written to Redis again since: kept, and sure. */
  written(entry: string): void {
    this.unsure.delete(entry);
  }

  /** For each unsure entry, whether Redis holds it; those it does not are no longer kept. */
  async settle(holds: (entry: string) => Promise<boolean>): Promise<void> {
    for (const entry of this.unsure) {
      if (!(await holds(entry))) this.kept.delete(entry);
      this.unsure.delete(entry);
    }
  }
}

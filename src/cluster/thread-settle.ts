/**
 * A stop's `settled()` on worker threads. Every transition goes to one reporting
 * thread (for the order of its webhooks), so that thread may not finish its stop
 * while another thread still closes sockets whose departures it will report: the
 * hub answers "settled" once every live thread has asked (its sockets are closed),
 * and then once the held departures are decided.
 */
export class SettleBarrier {
  private readonly asked = new Set<number>();
  private waiting: Array<() => void> = [];

  constructor(
    private readonly liveThreads: () => Iterable<number>,
    private readonly holdsSettled: () => Promise<unknown>,
  ) {}

  ask(thread: number): Promise<true> {
    this.asked.add(thread);
    const answered = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.check();
    return answered.then(() => true as const);
  }

  /** Call when a thread is gone: the others no longer wait for it. */
  check(): void {
    if (this.waiting.length === 0) return;
    for (const thread of this.liveThreads()) if (!this.asked.has(thread)) return;
    const waiting = this.waiting;
    this.waiting = [];
    this.asked.clear();
    void this.holdsSettled().then(() => {
      for (const resolve of waiting) resolve();
    });
  }
}

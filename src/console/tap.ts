/**
 * The console's tap on this node: the socket, HTTP and webhook paths tell it what
 * happened, and it hands each entry to the consoles watching that app, here and on
 * other nodes. When no console watches an app, a caller pays one check of
 * `watching(appId)` and builds nothing.
 */
import type { TapEntry, TapEvent } from "./wire.js";

/** A console's live feed on this node. It bounds its own queue: `deliver` never blocks or grows without limit. */
export interface ConsoleWatcher {
  deliver(entryJson: string): void;
}

/**
 * How entries cross nodes (see cluster.ts). A node whose consoles watch an app
 * says so now and then; the other nodes send that app's entries while the word is
 * fresh, and nothing at all for apps nobody watches.
 */
export interface ConsoleRelay {
  /** Sends an entry of an app that a console on another node watches. */
  publish(appId: string, entryJson: string): void;
  /** This node's consoles watch these apps now (called every few seconds while they do). */
  announce(appIds: readonly string[]): void;
}

export const NO_RELAY: ConsoleRelay = { publish: () => {}, announce: () => {} };

/**
 * With worker threads: which apps a console on any thread of the process watches,
 * in memory the threads share, so a thread knows the moment a console opens (the
 * relay's word follows a hop later).
 */
export interface SharedWatches {
  watched(appId: string): boolean;
  /** A console here watches these apps, for the next REMOTE_WATCH_MS. */
  watch(appIds: readonly string[]): void;
}

/** How long another node's word that it watches an app holds; it repeats it every WATCH_ANNOUNCE_MS. */
export const REMOTE_WATCH_MS = 15_000;
const WATCH_ANNOUNCE_MS = 5_000;

export class ConsoleTap {
  private readonly consoles = new Map<string, Set<ConsoleWatcher>>();
  /** Apps watched by consoles on other nodes, with when that word expires. */
  private readonly remote = new Map<string, number>();
  /** Apps watched anywhere: the one set the hot path looks at. */
  private readonly watched = new Set<string>();
  private relay: ConsoleRelay = NO_RELAY;
  private announcer: NodeJS.Timeout | undefined;

  constructor(
    readonly node: string,
    private readonly shared?: SharedWatches,
  ) {}

  /** Whether any console, on any node, watches the app. */
  watching(appId: string): boolean {
    return (this.watched.size !== 0 && this.watched.has(appId)) || (this.shared !== undefined && this.shared.watched(appId));
  }

  emit(appId: string, event: TapEvent): void {
    const entry: TapEntry = { ...event, appId, time: Date.now(), node: this.node };
    const json = JSON.stringify(entry);
    this.deliverHere(appId, json);
    if (this.remote.has(appId) || (this.shared !== undefined && !this.consoles.has(appId) && this.shared.watched(appId))) this.relay.publish(appId, json);
  }

  /** An entry from another node. */
  received(appId: string, entryJson: string): void {
    this.deliverHere(appId, entryJson);
  }

  /** Another node's consoles watch these apps. */
  watchedElsewhere(appIds: readonly string[], now = Date.now()): void {
    for (const appId of appIds) {
      this.remote.set(appId, now + REMOTE_WATCH_MS);
      this.watched.add(appId);
    }
  }

  add(appId: string, console: ConsoleWatcher): void {
    let set = this.consoles.get(appId);
    if (!set) this.consoles.set(appId, (set = new Set()));
    set.add(console);
    this.watched.add(appId);
    this.announce([appId]);
  }

  remove(appId: string, console: ConsoleWatcher): void {
    const set = this.consoles.get(appId);
    if (!set?.delete(console) || set.size > 0) return;
    this.consoles.delete(appId);
    if (!this.remote.has(appId)) this.watched.delete(appId);
  }

  /** Connects the tap to the other nodes, and starts saying which apps this node's consoles watch. */
  start(relay: ConsoleRelay): void {
    this.relay = relay;
    this.announcer = setInterval(() => this.tick(Date.now()), WATCH_ANNOUNCE_MS);
    this.announcer.unref();
  }

  stop(): void {
    clearInterval(this.announcer);
  }

  /** Repeats this node's watches and forgets the other nodes' watches that were not repeated. */
  tick(now: number): void {
    if (this.consoles.size > 0) this.announce([...this.consoles.keys()]);
    for (const [appId, expires] of this.remote) {
      if (expires > now) continue;
      this.remote.delete(appId);
      if (!this.consoles.has(appId)) this.watched.delete(appId);
    }
  }

  /** Says that this node's consoles watch these apps: to the process's other threads, and to the other nodes. */
  private announce(appIds: readonly string[]): void {
    this.shared?.watch(appIds);
    this.relay.announce(appIds);
  }

  private deliverHere(appId: string, json: string): void {
    const set = this.consoles.get(appId);
    if (set) for (const console of set) console.deliver(json);
  }
}

/**
 * Vacant-channel buffers, the server's side (the store is the cluster's
 * ChannelBuffers): whether an HTTP API event for a buffered channel is published
 * or kept, and the hand-over of what was kept to the socket that makes the
 * channel occupied again. Apps without buffers never reach this file.
 *
 * Order, on a cluster, where the store answers later:
 * - an event is asked about only while this node has no subscriber of its channel,
 *   and while an answer is awaited the channel's later events are asked about too,
 *   so that none overtakes it (the store answers one node in order);
 * - while a claim is awaited, this node's live frames for the channel are held and
 *   follow the hand-over, so the new subscriber gets the kept events first.
 */
import type { App, VacantChannelBuffer } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import type { Broker, ChannelBuffers, ChannelMessage } from "../cluster/cluster.js";
import type { NodeCounters } from "../metrics/counters.js";
import type { PusherSocket } from "./connection.js";

interface Parts {
  readonly channels: ChannelDirectory;
  readonly counters: NodeCounters;
  /** Built by the cluster, which is handed this class's fan-out first: asked for when needed. */
  readonly store: () => ChannelBuffers;
  readonly broker: () => Broker;
}

const channelKey = (appId: string, channel: string) => `${appId}\n${channel}`;

/** Live frames are never held longer than this, whatever became of the subscription that claimed. */
const LONGEST_HOLD_MS = 10_000;

export class VacantChannels {
  /** Answers awaited from the store, per channel. */
  private readonly deciding = new Map<string, number>();
  /** Claims awaited per channel, and the live frames held until they are handed over. */
  private readonly handingOver = new Map<string, { claims: number; held: ChannelMessage[]; timer: NodeJS.Timeout; stale?: Set<string> }>();
  private deliver: (message: ChannelMessage) => void = () => {};

  constructor(private readonly parts: Parts) {}

  /** This node's fan-out, made to hold a channel's frames while its kept events are handed over. */
  holdingFanout(deliver: (message: ChannelMessage) => void): (message: ChannelMessage) => void {
    this.deliver = deliver;
    return (message) => {
      if (this.handingOver.size !== 0) {
        const handOver = this.handingOver.get(channelKey(message.appId, message.channel));
        if (handOver) return void handOver.held.push(message);
      }
      deliver(message);
    };
  }

  /**
   * Publishes an HTTP API event of a channel under `rule`, or keeps it when nobody anywhere
   * subscribes. When the store answers later (worker threads, a cluster), the returned promise
   * settles once it has: the API answers then, so that a backend that awaits each publish has
   * its events kept in the order it published them, whichever thread or node each reached.
   */
  publish(app: App, rule: VacantChannelBuffer, message: ChannelMessage): Promise<void> | undefined {
    const key = channelKey(app.id, message.channel);
    if (!this.deciding.has(key) && this.parts.channels.forApp(app.id).subscriptionCount(message.channel) > 0) {
      this.parts.broker().publish(message);
      return undefined;
    }
    const kept = this.parts.store().keepIfVacant(app, message.channel, rule, message.frame);
    if (!(kept instanceof Promise)) {
      this.decided(app, message, kept);
      return undefined;
    }
    this.deciding.set(key, (this.deciding.get(key) ?? 0) + 1);
    // A question the main thread could not answer (its Redis away) keeps nothing, as an outage does.
    return kept
      .catch(() => false)
      .then((answer) => {
        const left = this.deciding.get(key)! - 1;
        if (left === 0) this.deciding.delete(key);
        else this.deciding.set(key, left);
        this.decided(app, message, answer);
      });
  }

  /**
   * For the socket that made the channel occupied on this node (call after
   * Occupancy.changed reported it): takes what was kept. Live frames of the channel
   * wait here until handOver() is called with the answer, which it must be.
   */
  claim(app: App, channel: string): string[] | Promise<string[]> {
    this.hold(channelKey(app.id, channel));
    return this.parts.store().claim(app, channel);
  }

  /**
   * Holds the channel's live frames on this node until the returned function is
   * called: a presence join waiting for the cluster's answer, so that a member_added
   * from another node reaches the joining socket after its subscription_succeeded,
   * not before it (pusher-js's members list would forget it). `stale`: a frame that,
   * held meanwhile, is out of date when the hold ends and is dropped: the joining
   * user's own member_removed, from its old socket (a reloaded tab) leaving before
   * this join; once the join is in, the user cannot have left.
   */
  holdFrames(appId: string, channel: string, stale: string): () => void {
    const key = channelKey(appId, channel);
    this.hold(key);
    (this.handingOver.get(key)!.stale ??= new Set()).add(stale);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.unhold(key);
    };
  }

  private hold(key: string): void {
    const handOver = this.handingOver.get(key);
    if (handOver) handOver.claims += 1;
    else {
      const timer = setTimeout(() => this.release(key), LONGEST_HOLD_MS);
      timer.unref();
      this.handingOver.set(key, { claims: 1, held: [], timer });
    }
  }

  private unhold(key: string): void {
    const handOver = this.handingOver.get(key);
    if (handOver && --handOver.claims === 0) this.release(key);
  }

  /**
   * Sends the claimed events to the socket, then lets the held frames go. A socket
   * that left the channel meanwhile cannot take them: they are published again (to
   * the channel's other subscribers here, or kept for the next one).
   */
  handOver(socket: PusherSocket, app: App, channel: string, rule: VacantChannelBuffer, frames: readonly string[]): void {
    const connection = socket.getUserData();
    if (frames.length > 0) {
      if (connection.open && connection.channels?.has(channel)) {
        for (const frame of frames) socket.send(frame);
        this.parts.counters.of(app.id).bufferHandovers += 1;
      } else {
        for (const frame of frames) this.publish(app, rule, { appId: app.id, channel, frame });
      }
    }
    this.unhold(channelKey(app.id, channel));
  }

  /** Lets a channel's held frames go, in order. */
  private release(key: string): void {
    const handOver = this.handingOver.get(key);
    if (!handOver) return;
    clearTimeout(handOver.timer);
    this.handingOver.delete(key);
    for (const message of handOver.held) if (!handOver.stale?.has(message.frame)) this.deliver(message);
  }

  private decided(app: App, message: ChannelMessage, kept: boolean): void {
    if (kept) this.parts.counters.of(app.id).bufferedEvents += 1;
    else this.parts.broker().publish(message);
  }
}

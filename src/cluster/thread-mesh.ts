/**
 * The worker threads' direct ports to one another. A publish goes from the thread it
 * was made on straight to each other thread, one string each, not through
 * the hub: the main thread is neither woken by the process's publishes nor a queue
 * that all of them wait in (measured: a sleeping thread pays 13-19 µs to take a
 * message, bench/thread-wake.ts).
 *
 * Each thread that joins gets a port to every thread that joined before it, and they
 * are told of theirs through their hub ports; it serves once each has greeted it on
 * its port (or is gone), so no publish misses its sockets. A thread started again
 * joins anew: the others' ports to the thread that died closed with it. A thread that
 * ended before it took its port to a newer thread leaves that one's end open, waiting for
 * a greeting: the others are told it is gone (leave), and close their end.
 */
import { MessageChannel, type MessagePort } from "node:worker_threads";
import type { Batch } from "./port-batch.js";
import type { ThreadChannelMessage, ToThread } from "./thread-wire.js";

export type PeerPorts = Array<[thread: number, port: MessagePort]>;

/** What a thread told of a new thread sends it first: the new thread serves once every other has. */
export const MET = "met";
/** On a peer port: that greeting, then the publishes of the thread at the other end, in order, those of one callback in one message (PortBatch). */
export type PeerMessage = Batch<ThreadChannelMessage> | typeof MET;

export class ThreadMesh {
  /** Each thread's hub port, the main thread's end. */
  private readonly hubPorts = new Map<number, MessagePort>();

  /** Thread `thread` joins, its hub port's main-thread end `hubPort`: its ports to the other threads. */
  join(thread: number, hubPort: MessagePort): PeerPorts {
    const ports: PeerPorts = [];
    for (const [other, otherHub] of this.hubPorts) {
      if (other === thread) continue;
      const { port1, port2 } = new MessageChannel();
      // Straight on the port (a port is transferred, not batched): it may pass the hub's batched messages, which it does not depend on.
      otherHub.postMessage({ t: "peer", thread, port: port1 } satisfies ToThread, [port1]);
      ports.push([other, port2]);
    }
    this.hubPorts.set(thread, hubPort);
    return ports;
  }

  /** Thread `thread` ended: the others close their ports to it, if they have not yet. */
  leave(thread: number): void {
    this.hubPorts.delete(thread);
    for (const otherHub of this.hubPorts.values()) otherHub.postMessage({ t: "gone", thread } satisfies ToThread);
  }
}

import { MessageChannel, type MessagePort } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { PeerOutbox } from "../../src/cluster/peer-outbox.js";
import { encodeForThreads } from "../../src/cluster/thread-wire.js";

const message = (n: number) => encodeForThreads({ appId: "app", channel: `channel-${n}`, exceptSocketId: undefined, frame: `{"n":${n}}` });
const next = (port: MessagePort) => new Promise<unknown>((resolve) => port.once("message", resolve));

describe("a worker thread's publishes to the other threads", () => {
  const open: MessagePort[] = [];
  afterEach(() => {
    for (const port of open.splice(0)) port.close();
  });
  const channel = () => {
    const { port1, port2 } = new MessageChannel();
    open.push(port1, port2);
    return { port1, port2 };
  };

  it("sends the publishes of one callback to each thread as one message, and a lone one as it is", async () => {
    const outbox = new PeerOutbox();
    const [a, b] = [channel(), channel()];
    outbox.add(1, a.port1);
    outbox.add(2, b.port1);
    const [atA, atB] = [next(a.port2), next(b.port2)];
    outbox.senders.get(1)!.postMessage(message(1));
    outbox.senders.get(2)!.postMessage(message(1));
    outbox.senders.get(1)!.postMessage(message(2));
    outbox.senders.get(1)!.postMessage(message(3));
    expect(await atA).toEqual([message(1), message(2), message(3)]);
    expect(await atB).toBe(message(1));
    // The next callback's: a message of its own.
    const again = next(a.port2);
    outbox.senders.get(1)!.postMessage(message(4));
    expect(await again).toBe(message(4));
  });
});

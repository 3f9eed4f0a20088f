import { MessageChannel, type MessagePort } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { eachOf, PortBatch } from "../../src/cluster/port-batch.js";
import { encodeForThreads } from "../../src/cluster/thread-wire.js";

const message = (n: number) => encodeForThreads({ appId: "app", channel: `channel-${n}`, exceptSocketId: undefined, frame: `{"n":${n}}` });
const next = (port: MessagePort) => new Promise<unknown>((resolve) => port.once("message", resolve));

describe("messages to another thread, batched per callback", () => {
  const open: MessagePort[] = [];
  afterEach(() => {
    for (const port of open.splice(0)) port.close();
  });
  const channel = () => {
    const { port1, port2 } = new MessageChannel();
    open.push(port1, port2);
    return { port1, port2 };
  };

  it("sends what one callback posts to a port as one message, and a lone one as it is", async () => {
    const [a, b] = [channel(), channel()];
    const [toA, toB] = [new PortBatch(a.port1), new PortBatch(b.port1)];
    const [atA, atB] = [next(a.port2), next(b.port2)];
    toA.postMessage(message(1));
    toB.postMessage(message(1));
    toA.postMessage(message(2));
    toA.postMessage(message(3));
    expect(await atA).toEqual([message(1), message(2), message(3)]);
    expect(await atB).toBe(message(1));
    // The next callback's: a message of its own.
    const again = next(a.port2);
    toA.postMessage(message(4));
    expect(await again).toBe(message(4));
  });

  it("hands the messages of a batch, or a lone one, on in order", () => {
    const seen: string[] = [];
    eachOf(["a", "b", "c"], (one) => seen.push(one));
    eachOf("d", (one) => seen.push(one));
    expect(seen).toEqual(["a", "b", "c", "d"]);
  });
});

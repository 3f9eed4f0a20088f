/**
 * The keepalive sweep under fake timers (its coarse clock reads performance.now,
 * which is faked too): pings after the app's activityTimeout, the 4201 after the
 * pong timeout, the sign-in deadline and the slow-consumer close.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { NodeCounters } from "../../src/metrics/counters.js";
import type { Connection } from "../../src/server/connection.js";
import { Keepalive } from "../../src/server/keepalive.js";
import { SocketRegistry } from "../../src/server/socket-registry.js";
import type { WebSocket } from "../../src/server/uws.js";
import { recordingSocket, ruleServices, type RecordingSocket } from "../helpers/rule-services.js";

const APP = { id: "k", key: "k-key", secret: "k-secret", activityTimeout: 10 };
const SIGNIN_APP = { id: "s", key: "s-key", secret: "s-secret", activityTimeout: 100, userAuthenticationTimeout: 3 };
const PONG_TIMEOUT = 5;
const SLOW_BYTES = 1000;

/** A recording socket with what the sweep also uses: its queued output, cork and control pings. */
interface SweptSocket extends RecordingSocket {
  buffered: number;
  pings: number;
}

describe("keepalive sweep", () => {
  let keepalive: Keepalive;
  let sockets: SocketRegistry;
  let counters: NodeCounters;
  let app: Awaited<ReturnType<typeof ruleServices>>["app"];

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "setImmediate", "clearImmediate", "performance"] });
    ({ app } = await ruleServices([APP, SIGNIN_APP]));
    sockets = new SocketRegistry();
    counters = new NodeCounters();
    keepalive = new Keepalive(sockets, PONG_TIMEOUT, SLOW_BYTES, counters);
    keepalive.start();
    // Fake timers run the sweep's setImmediate 1 ms after its timer: from here on each
    // whole-second step lands just after both.
    await vi.advanceTimersByTimeAsync(1);
  });
  afterEach(() => {
    keepalive.stop();
    vi.useRealTimers();
  });

  function connect(appId: string): SweptSocket {
    const swept = Object.assign(recordingSocket(app(appId)), { buffered: 0, pings: 0 }) as SweptSocket;
    const connection = swept.getUserData();
    connection.lastSeen = keepalive.now;
    if (appId === SIGNIN_APP.id) connection.signinDeadline = keepalive.deadlineIn(SIGNIN_APP.userAuthenticationTimeout); // as pusher-connection.ts does
    const ws = Object.assign(swept, {
      getBufferedAmount: () => swept.buffered,
      cork: (work: () => void) => work(),
      ping: () => (swept.pings += 1),
    });
    sockets.add(ws as unknown as WebSocket<Connection>, connection.socketId, appId);
    return swept;
  }

  const pinged = (socket: SweptSocket) => socket.sent.filter((frame) => frame.event === "pusher:ping").length;

  it("pings a client silent for its app's activityTimeout, then closes it with 4201 when the pong timeout passes", async () => {
    const silent = connect(APP.id);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(pinged(silent)).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pinged(silent)).toBe(1);
    expect(silent.pings).toBe(1);
    await vi.advanceTimersByTimeAsync((PONG_TIMEOUT - 1) * 1000);
    expect(silent.closed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(silent.closed?.code).toBe(4201);
    expect(pinged(silent)).toBe(1);
  });

  it("waits the whole pong timeout from the ping, though the sweeps drift across a second's edge", async () => {
    /** Starts the sweeps again `ms` from now, and lands just after them as beforeEach does. */
    const sweepsAgainIn = async (ms: number) => {
      keepalive.stop();
      await vi.advanceTimersByTimeAsync(ms - 1);
      keepalive.start();
      await vi.advanceTimersByTimeAsync(1);
    };
    await sweepsAgainIn(900); // sweeps at x.9 s
    const silent = connect(APP.id);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pinged(silent)).toBe(1); // at 10.9 s
    await sweepsAgainIn(200); // one sweep 1.2 s after the last, as on a busy machine: sweeps at x.1 s
    await vi.advanceTimersByTimeAsync(4_000);
    expect(silent.closed).toBeUndefined(); // 15.1 s: on second 15, but 4.2 s after the ping
    await vi.advanceTimersByTimeAsync(1_000);
    expect(silent.closed?.code).toBe(4201);
  });

  it("keeps a client that answers, and starts its silence over from its last word", async () => {
    const talker = connect(APP.id);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(pinged(talker)).toBe(1);
    keepalive.heard(talker.getUserData());
    await vi.advanceTimersByTimeAsync(9_000);
    expect(talker.closed).toBeUndefined();
    expect(pinged(talker)).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pinged(talker)).toBe(2);
    for (let round = 3; round <= 5; round++) {
      keepalive.heard(talker.getUserData());
      await vi.advanceTimersByTimeAsync(10_000);
      expect(pinged(talker)).toBe(round);
    }
    expect(talker.closed).toBeUndefined();
  });

  it("closes a socket that has not signed in by the app's deadline with 4009, and leaves one that did", async () => {
    const late = connect(SIGNIN_APP.id);
    const signed = connect(SIGNIN_APP.id);
    signed.getUserData().signinDeadline = 0; // as a sign-in does
    await vi.advanceTimersByTimeAsync(3_000);
    expect(late.closed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(late.closed?.code).toBe(4009);
    expect(signed.closed).toBeUndefined();
  });

  it("gives a socket its whole sign-in time when the last sweep ran late", async () => {
    keepalive.now -= 2; // the coarse clock as a sweep 2 s late on a busy machine left it
    const late = connect(SIGNIN_APP.id);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(late.closed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(late.closed?.code).toBe(4009);
  });

  it("closes a socket holding more queued output than it may with 4100, and counts it", async () => {
    const slow = connect(APP.id);
    const fine = connect(APP.id);
    slow.buffered = SLOW_BYTES + 1;
    fine.buffered = SLOW_BYTES;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(slow.closed?.code).toBe(4100);
    expect(fine.closed).toBeUndefined();
    expect(counters.of(APP.id).backpressureCloses).toBe(1);
  });
});

import { describe, expect, it } from "vitest";
import { Closes, fitReason } from "../../src/protocol/closes.js";

describe("closes", () => {
  it("cut a reason to 123 bytes of UTF-8 without splitting a character", () => {
    expect(fitReason("a".repeat(200))).toHaveLength(123);
    const accents = fitReason("é".repeat(100));
    expect(Buffer.byteLength(accents)).toBeLessThanOrEqual(123);
    expect(accents).toBe("é".repeat(61));
  });

  it("each name a code in the range that makes pusher-js do the right thing, and a reason that fits", () => {
    const long = "ö".repeat(500);
    const all = [
      Closes.unknownKey(long),
      Closes.appDisabled(long),
      Closes.appOverQuota(long, 5),
      Closes.unsupportedProtocol(long),
      Closes.originNotAllowed(long, long),
      Closes.serverFull(5),
      Closes.tooSlow(),
      Closes.signinTimeout(30),
      Closes.signinFailed(long),
      Closes.terminatedByApp(),
      Closes.pongTimeout(),
      Closes.appRemoved(long),
      Closes.appKeyChanged(long),
      Closes.appDisabledOnReload(long),
      Closes.shuttingDown(),
    ];
    for (const closing of all) {
      expect(Buffer.byteLength(closing.reason)).toBeLessThanOrEqual(123);
      // 43xx are error frames only: Herald never closes with them.
      expect(closing.code).toBeGreaterThanOrEqual(4000);
      expect(closing.code).toBeLessThan(4300);
    }
    // Give up (no reconnect): the client must change something first.
    expect([Closes.unknownKey("k"), Closes.appDisabled("a"), Closes.originNotAllowed("o", "a"), Closes.terminatedByApp()].map((c) => c.code)).toEqual([4001, 4003, 4009, 4009]);
    // Back off, or come back at once.
    expect([Closes.serverFull(1), Closes.tooSlow(), Closes.shuttingDown(), Closes.pongTimeout()].map((c) => c.code)).toEqual([4100, 4100, 4200, 4201]);
    expect(Closes.tooSlow().message).toBeUndefined();
    expect(Closes.signinFailed("bad signature").message).toBe("bad signature");
  });
});

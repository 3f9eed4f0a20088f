/** WatchAnswers: a watchlist's first `online` leaves out whom the socket heard of while it waited. */
import { describe, expect, it } from "vitest";
import { WatchAnswers } from "../../src/server/watch-answers.js";

/** A question to the cluster, answered when the test says. */
function question(): { promise: Promise<string[]>; answer(online: string[]): void } {
  let answer!: (online: string[]) => void;
  const promise = new Promise<string[]>((resolve) => (answer = resolve));
  return { promise, answer };
}

describe("WatchAnswers", () => {
  it("leaves out a user announced while the question waited, online or offline", async () => {
    const answers = new WatchAnswers();
    const asked = question();
    const unheard = answers.unheard("app", asked.promise);
    expect(answers.waiting).toBe(true);
    answers.delivered("app", "#watchers:bob");
    answers.delivered("app", "#watchers:dave");
    asked.answer(["bob", "carol", "dave"]);
    expect(await unheard).toEqual(["carol"]);
    expect(answers.waiting).toBe(false);
  });

  it("keeps a user announced before the question, in another app, or on another channel", async () => {
    const answers = new WatchAnswers();
    const first = question();
    const firstUnheard = answers.unheard("app", first.promise);
    answers.delivered("app", "#watchers:bob");
    const second = question();
    const secondUnheard = answers.unheard("app", second.promise);
    answers.delivered("other-app", "#watchers:carol");
    answers.delivered("app", "presence-room");
    second.answer(["bob", "carol"]);
    first.answer(["bob", "carol"]);
    // bob came before the second question: its socket had not subscribed to hear him then.
    expect(await secondUnheard).toEqual(["bob", "carol"]);
    expect(await firstUnheard).toEqual(["carol"]);
  });

  it("holds nothing once no question waits, and notes nothing then", async () => {
    const answers = new WatchAnswers();
    const failing = question();
    const failed = answers.unheard("app", failing.promise.then(() => Promise.reject(new Error("the hub went away"))));
    answers.delivered("app", "#watchers:bob");
    failing.answer([]);
    await expect(failed).rejects.toThrow("the hub went away");
    expect(answers.waiting).toBe(false);
    expect((answers as unknown as { heard: Map<string, number> }).heard.size).toBe(0);

    // With no question waiting, the fan-out does not call it; a question asked later hears of bob again.
    const later = question();
    const laterUnheard = answers.unheard("app", later.promise);
    later.answer(["bob"]);
    expect(await laterUnheard).toEqual(["bob"]);
  });

  it("forgets the announcements older than the oldest question still waiting", async () => {
    const answers = new WatchAnswers();
    const heard = (answers as unknown as { heard: Map<string, number> }).heard;
    const old = question();
    const oldUnheard = answers.unheard("app", old.promise);
    answers.delivered("app", "#watchers:bob");
    const young = question();
    const youngUnheard = answers.unheard("app", young.promise);
    answers.delivered("app", "#watchers:carol");
    old.answer([]);
    await oldUnheard;
    // bob's announcement came before the young question: nothing waiting can need it.
    expect([...heard.keys()]).toEqual(["app\ncarol"]);
    answers.delivered("app", "#watchers:carol");
    young.answer(["bob", "carol"]);
    expect(await youngUnheard).toEqual(["bob"]);
    expect(heard.size).toBe(0);
  });
});

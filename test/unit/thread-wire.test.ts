import { describe, expect, it } from "vitest";
import type { ClusterJoin } from "../../src/cluster/cluster.js";
import { askAsString, askFromString, encodeForThreads, isChannelMessage, isQuestion, joinReply, reply, replyFromString, type JoinLists, type PresenceReply, type ThreadQuestion } from "../../src/cluster/thread-wire.js";
import { PresenceList } from "../../src/channels/presence-channel.js";
import type { PresenceData } from "../../src/protocol/server-frames.js";

// App ids may hold any character; user ids anything a signed channel_data holds.
const awkward = { appId: "app\n1\"é", channel: "presence-room;#=@", userId: "user\n\"\\😀 9" };

describe("presence questions and answers between threads, as strings", () => {
  it.each([
    ["a join", { t: "join", ...awkward, userInfo: { name: "Ada\nLovelace", tags: ["\"x\"", null], n: 1.5 }, limit: 100, heard: true, announce: encodeForThreads({ appId: awkward.appId, channel: awkward.channel, exceptSocketId: "1.2", frame: "{\"event\":\"x\"}\n" }) }],
    ["a join without user_info, nobody hearing", { t: "join", ...awkward, userInfo: undefined, limit: 0, heard: false, announce: encodeForThreads({ appId: "", channel: "presence-", frame: "" }) }],
    ["a join with an empty app id and a user_info of null", { t: "join", appId: "", channel: "presence-a", userId: "1", userInfo: null, limit: 7, heard: true, announce: encodeForThreads({ appId: "", channel: "presence-a", frame: "f" }) }],
    ["a leave", { t: "leave", ...awkward, heard: true }],
    ["a leave, nobody hearing", { t: "leave", appId: "a", channel: "presence-b", userId: "", heard: false }],
  ] as Array<[string, ThreadQuestion]>)("reads %s back as it was asked", (_, question) => {
    const text = askAsString(41, question)!;
    expect(typeof text).toBe("string");
    expect(isChannelMessage(text)).toBe(false);
    expect(isQuestion(text)).toBe(true);
    expect(askFromString(text)).toEqual({ t: "ask", id: 41, question });
  });

  it("leaves other questions as objects, and tells a channel message from the rest", () => {
    expect(askAsString(1, { t: "members", appId: "a", channel: "presence-a" })).toBeUndefined();
    const published = encodeForThreads({ appId: "7", channel: "c", frame: "J1\n" });
    expect(isChannelMessage(published)).toBe(true);
    expect(isQuestion(published)).toBe(false);
  });

  it.each([
    ["a join, first of the user", { ok: true, added: true, members: '"{\\"presence\\":{}}"' as PresenceData }],
    ["a join, another tab", { ok: true, added: false, members: '"{}"' as PresenceData }],
    ["a join refused", { ok: false, reason: "The presence channel already has 100 members\n!" }],
  ] as Array<[string, ClusterJoin]>)("reads the answer to %s back", (_, answer) => {
    const text = reply(9, "join", answer) as PresenceReply;
    expect(isChannelMessage(text)).toBe(false);
    expect(replyFromString(text)).toEqual({ id: 9, value: answer });
  });

  it("reads a leave's answer back, and sends other answers as objects", () => {
    expect(replyFromString(reply(12345678, "leave", true) as PresenceReply)).toEqual({ id: 12345678, value: true });
    expect(replyFromString(reply(3, "leave", false) as PresenceReply)).toEqual({ id: 3, value: false });
    expect(reply(4, "subscriptionCount", 2)).toEqual({ t: "reply", id: 4, value: 2 });
  });

  it("reads a message's join answers, each after the first holding only the members added since, as the lists whole", () => {
    const list = new PresenceList<{ info: unknown }>();
    const answers: PresenceReply[] = [];
    let since: number | undefined;
    const expected: unknown[] = [];
    for (const [userId, info] of [["1", null], ["user\n\"\\😀", { name: "Ada\n\"L\"", n: [1.5] }], ["", undefined], ["1", null], ["4", "x"]] as const) {
      // A user there already (another tab) is answered too, adding nobody.
      const added = !list.users.has(userId);
      if (added) list.add(userId, { info });
      const whole = since === undefined;
      const lists = { ...(whole ? list.lists() : list.addedSince(since!)), count: list.users.size, whole };
      answers.push(joinReply(answers.length, added, lists));
      since = list.users.size;
      expected.push({ id: expected.length, value: { ok: true, added, members: list.data() } });
    }
    expect(answers.slice(1).every((answer) => answer.startsWith("d"))).toBe(true);
    let read: JoinLists | undefined;
    const got = answers.map((answer) => {
      const { id, value, lists } = replyFromString(answer, read);
      read = lists;
      return { id, value };
    });
    expect(got).toEqual(expected);
    // Added to nothing, an answer is refused rather than read as a whole list.
    expect(() => replyFromString(answers[1]!)).toThrow(/did not have/);
  });
});

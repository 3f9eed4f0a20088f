import { describe, expect, it } from "vitest";
import { PresenceList, PresenceMembers } from "../../src/channels/presence-channel.js";
import { subscriptionSucceeded } from "../../src/protocol/server-frames.js";

/**
 * The frame as JSON.stringify writes it from the whole list, which the kept, escaped-by-parts
 * data must equal byte for byte. The hash is in the order of joins (an object would put "1234" first).
 */
function expected(channel: string, members: ReadonlyArray<readonly [string, unknown]>): string {
  const hash = members.map(([id, info]) => `${JSON.stringify(id)}:${JSON.stringify(info ?? null)}`).join(",");
  const data = `{"presence":{"ids":${JSON.stringify(members.map(([id]) => id))},"hash":{${hash}},"count":${members.length}}}`;
  return JSON.stringify({ event: "pusher_internal:subscription_succeeded", channel, data });
}

const awkward: Array<readonly [string, unknown]> = [
  ["plain", { name: "Ada" }],
  ['quote"and\\backslash', { name: 'say "hi"\\', bio: "line\nbreak\ttab\u0001\u2028" }],
  ["emoji 😀", { name: "é ü 中文 😀" }],
  ["lone \ud800 surrogate", { name: "\udfff" }],
  ["no info", undefined],
  ["1234", [1, "two", null, { nested: { deep: true } }]],
];

describe("presence subscription_succeeded data, kept escaped", () => {
  it("is the frame JSON.stringify writes, member by member", () => {
    const members = new PresenceMembers();
    const joined: Array<readonly [string, unknown]> = [];
    expect(subscriptionSucceeded("presence-room", members.data())).toBe(expected("presence-room", joined));
    for (const member of awkward) {
      members.join(member[0], member[1]);
      joined.push(member);
      expect(subscriptionSucceeded("presence-room", members.data())).toBe(expected("presence-room", joined));
    }
    // The data pusher-js reads back: JSON inside a JSON string.
    const frame = JSON.parse(subscriptionSucceeded("presence-room", members.data())) as { data: string };
    expect(JSON.parse(frame.data)).toEqual({ presence: { ids: awkward.map(([id]) => id), hash: Object.fromEntries(awkward.map(([id, info]) => [id, info ?? null])), count: awkward.length } });
  });

  it("is written whole again after a departure, and then grows by parts", () => {
    const members = new PresenceMembers();
    for (const [id, info] of awkward) members.join(id, info);
    members.leave(awkward[1]![0]);
    const left = awkward.filter((_, index) => index !== 1);
    expect(subscriptionSucceeded("presence-room", members.data())).toBe(expected("presence-room", left));
    members.join("late", { name: "late\"comer" });
    expect(subscriptionSucceeded("presence-room", members.data())).toBe(expected("presence-room", [...left, ["late", { name: "late\"comer" }]]));
  });

  it("tells what was added since a count of members, which the lists then were followed by", () => {
    const list = new PresenceList<{ info: unknown }>();
    const seen: Array<{ ids: string; hash: string }> = [list.lists()];
    for (const [id, info] of awkward) {
      list.add(id, { info });
      const now = list.lists();
      // From every earlier count: what the lists were then, followed by what was added since.
      seen.forEach((then, count) => {
        const added = list.addedSince(count);
        expect({ ids: then.ids + added.ids, hash: then.hash + added.hash }).toEqual(now);
      });
      seen.push(now);
    }
    expect(list.addedSince(awkward.length)).toEqual({ ids: "", hash: "" });
  });

  it("is {} for other channels", () => {
    expect(subscriptionSucceeded("private-x")).toBe(JSON.stringify({ event: "pusher_internal:subscription_succeeded", channel: "private-x", data: "{}" }));
  });
});

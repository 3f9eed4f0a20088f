import { describe, expect, it } from "vitest";
import { ThreadMembers } from "../../src/cluster/thread-members.js";

/** What subscription_succeeded's data says, read as a client reads it. */
const read = (members: ThreadMembers, channel = "presence-room") => JSON.parse(JSON.parse(members.data("app", channel)) as string) as { presence: { ids: string[]; hash: Record<string, unknown>; count: number } };

describe("the hubs' presence members", () => {
  it("keeps subscription_succeeded's data true through joins, other tabs, departures and returns", () => {
    const members = new ThreadMembers();
    expect(read(members)).toEqual({ presence: { ids: [], hash: {}, count: 0 } });
    expect(members.add("app", "presence-room", "1", { name: "One" }, 0)).toBe(true);
    expect(members.add("app", "presence-room", 'quote " and \\ and ü', undefined, 1)).toBe(true);
    expect(members.add("app", "presence-room", "1", { name: "ignored: the first socket's info stands" }, 1)).toBe(false);
    expect(read(members)).toEqual({ presence: { ids: ["1", 'quote " and \\ and ü'], hash: { 1: { name: "One" }, 'quote " and \\ and ü': null }, count: 2 } });

    expect(members.remove("app", "presence-room", "1", 0)).toBe(false); // still on thread 1
    expect(members.remove("app", "presence-room", "1", 1)).toBe(true);
    expect(members.remove("app", "presence-room", "1", 1)).toBe(false);
    expect(members.add("app", "presence-room", "3", [1, 2], 0)).toBe(true);
    expect(members.add("app", "presence-room", "1", { name: "Back" }, 0)).toBe(true);
    expect(read(members)).toEqual({ presence: { ids: ['quote " and \\ and ü', "3", "1"], hash: { 'quote " and \\ and ü': null, 3: [1, 2], 1: { name: "Back" } }, count: 3 } });
    expect(members.snapshot("app", "presence-room")).toEqual(read(members).presence);
    expect(read(members, "presence-other")).toEqual({ presence: { ids: [], hash: {}, count: 0 } });
  });

  it("forgets a dead thread's members, each once, and keeps those with a socket elsewhere", () => {
    const members = new ThreadMembers();
    members.add("app", "presence-a", "stays", null, 0);
    members.add("app", "presence-a", "goes", null, 1);
    members.add("app", "presence-a", "both", null, 0);
    members.add("app", "presence-a", "both", null, 1);
    members.add("other", "presence-b", "goes", null, 1);
    const gone: string[] = [];
    members.forget(1, (appId, channel, userId) => gone.push(`${appId} ${channel} ${userId}`));
    expect(gone).toEqual(["app presence-a goes", "other presence-b goes"]);
    expect(read(members, "presence-a").presence.ids).toEqual(["stays", "both"]);
    expect(members.count("other", "presence-b")).toBe(0);
    expect(members.has("app", "presence-a", "both")).toBe(true);
  });
});

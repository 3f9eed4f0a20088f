import { describe, expect, it } from "vitest";
import { parseUserData } from "../../src/protocol/user-data.js";

describe("sign-in user_data", () => {
  it("reads the id, user_info and watchlist", () => {
    expect(parseUserData('{"id":"7","user_info":{"name":"Ada"},"watchlist":["1","2","1"]}')).toEqual({
      ok: true,
      user: { id: "7", info: { name: "Ada" }, watchlist: ["1", "2"] },
    });
    expect(parseUserData('{"id":"7"}')).toEqual({ ok: true, user: { id: "7", info: undefined, watchlist: [] } });
  });

  it.each([
    ["not JSON", "{id:7}", "not valid JSON"],
    ["not an object", '["7"]', "JSON object"],
    ["a numeric id, which pusher-js refuses too", '{"id":7}', "no \"id\""],
    ["an empty id", '{"id":""}', "no \"id\""],
    ["an id of 129 characters", JSON.stringify({ id: "x".repeat(129) }), "longer than 128"],
    ["a watchlist that is not an array", '{"id":"7","watchlist":"1"}', "array of user ids"],
    ["a watchlist with an empty id", '{"id":"7","watchlist":["1",""]}', "array of user ids"],
    ["a watchlist with an object", '{"id":"7","watchlist":["1",{}]}', "array of user ids"],
  ])("refuses %s", (_, text, message) => {
    const parsed = parseUserData(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain(message);
  });

  it("reads numbers in a watchlist as the user ids they spell, as Laravel's pluck('id') sends them", () => {
    expect(parseUserData('{"id":"7","watchlist":[1,"2",2]}')).toEqual({ ok: true, user: { id: "7", info: undefined, watchlist: ["1", "2"] } });
  });

  it("keeps a watchlist over 100 for the server to refuse with 4302", () => {
    const watchlist = Array.from({ length: 101 }, (_, i) => String(i));
    const parsed = parseUserData(JSON.stringify({ id: "7", watchlist }));
    expect(parsed.ok && parsed.user.watchlist.length).toBe(101);
  });
});

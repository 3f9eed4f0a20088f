import { describe, expect, it } from "vitest";
import { AppsFileError, parseApps } from "../../src/apps/apps-file.js";
import { originAllowed } from "../../src/apps/origins.js";

const base = { id: "1", key: "k", secret: "s" };

describe("parseApps", () => {
  it("fills every default", () => {
    const { apps, warnings } = parseApps({ apps: [base] }, "apps.json");
    expect(warnings).toEqual([]);
    expect(apps[0]).toEqual({
      ...base,
      name: undefined,
      enabled: true,
      enableClientMessages: false,
      maxConnections: -1,
      allowedOrigins: ["*"],
      activityTimeout: 120,
      maxPresenceMembersPerChannel: 100,
      maxPresenceMemberSizeInKb: 1,
      maxChannelNameLength: 200,
      maxEventChannelsAtOnce: 100,
      maxEventNameLength: 200,
      maxEventPayloadInKb: 10,
      maxEventBatchSize: 10,
      maxClientEventsPerSecond: -1,
      maxBackendEventsPerSecond: -1,
      maxReadRequestsPerSecond: -1,
      enableSubscriptionCount: false,
      requireUserAuthentication: false,
      userAuthenticationTimeout: 30,
      webhooks: [],
      vacantChannelBuffers: [],
    });
  });

  it.each([
    [{ apps: {} }, 'expected {"apps": [ ... ]}'],
    [[], 'expected {"apps": [ ... ]}'],
    [{ apps: [5] }, "app #1 must be a JSON object"],
    [{ apps: [{ ...base, secret: "" }] }, 'app #1 (id "1"): field "secret" must be a non-empty string'],
    [{ apps: [{ key: "k", secret: "s" }] }, 'app #1: field "id"'],
    [{ apps: [{ ...base, maxConnections: "10" }] }, 'field "maxConnections"'],
    [{ apps: [{ ...base, enabled: "yes" }] }, 'field "enabled"'],
    [{ apps: [{ ...base, allowedOrigins: "*" }] }, 'field "allowedOrigins"'],
    [{ apps: [base, { ...base, key: "k2" }] }, 'app #2 (id "1"): field "id" duplicates the id of app #1'],
    [{ apps: [base, { ...base, id: "2" }] }, 'app #2 (id "2"): field "key" duplicates the key of app #1'],
    [{ apps: [{ ...base, webhooks: [{ url: "ftp://example.com" }] }] }, 'field "webhooks.0.url" must be an http:// or https:// URL'],
    [{ apps: [{ ...base, webhooks: [{}] }] }, 'field "webhooks.0.url"'],
    [{ apps: [{ ...base, webhooks: [{ url: "https://a.test", headers: { "Content-Length": "5" } }] }] }, "is set by Herald's HTTP client"],
    [{ apps: [{ ...base, webhooks: [{ url: "https://a.test", headers: { "Bad Name": "x" } }] }] }, "is not a valid header name"],
    [{ apps: [{ ...base, webhooks: [{ url: "https://a.test", headers: { "X-Token": "a\r\nX-Evil: 1" } }] }] }, 'field "webhooks.0.headers.X-Token" must be on one line'],
    [{ apps: [{ ...base, webhooks: [{ url: "https://a.test", event_types: ["channel_occupied", "member_joined"] }] }] }, 'field "webhooks.0.event_types.1"'],
    [{ apps: [{ ...base, webhooks: [{ url: "https://a.test", event_types: [] }] }] }, 'field "webhooks.0.event_types" must name at least one event type'],
    [{ apps: [{ ...base, webhooks: [{ url: "https://a.test", filters: {} }] }] }, 'field "webhooks.0"'],
    [{ apps: [{ ...base, webhooks: [{ url: "https://a.test", filter: { channel_name_prefix: "x" } }] }] }, 'field "webhooks.0.filter"'],
    [{ apps: [{ ...base, vacantChannelBuffers: [{ channelPrefix: "", ttlSeconds: 60, maxEvents: 10 }] }] }, 'field "vacantChannelBuffers.0.channelPrefix" must be a non-empty string'],
    [{ apps: [{ ...base, vacantChannelBuffers: [{ channelPrefix: "a-", ttlSeconds: 604_801 }] }] }, 'field "vacantChannelBuffers.0.ttlSeconds"'],
    [{ apps: [{ ...base, vacantChannelBuffers: [{ channelPrefix: "a-", maxEvents: 0 }] }] }, 'field "vacantChannelBuffers.0.maxEvents"'],
    [{ apps: [{ ...base, vacantChannelBuffers: [{ channelPrefix: "a-", maxEvents: 1001 }] }] }, 'field "vacantChannelBuffers.0.maxEvents"'],
    [{ apps: [{ ...base, vacantChannelBuffers: [{ prefix: "a-" }] }] }, 'field "vacantChannelBuffers.0'],
  ])("rejects %j naming the problem", (json, message) => {
    expect(() => parseApps(json, "apps.json")).toThrow(AppsFileError);
    expect(() => parseApps(json, "apps.json")).toThrow(message);
  });

  it("takes Soketi's rate-limit fields without warnings", () => {
    const { apps, warnings } = parseApps({ apps: [{ ...base, maxClientEventsPerSecond: 5, maxBackendEventsPerSecond: 100, maxReadRequestsPerSecond: 10 }] }, "apps.json");
    expect(warnings).toEqual([]);
    expect(apps[0]).toMatchObject({ maxClientEventsPerSecond: 5, maxBackendEventsPerSecond: 100, maxReadRequestsPerSecond: 10 });
  });

  it.each([
    [{ enableUserAuthentication: true }, true],
    [{ requireUserAuthentication: true }, true],
    [{ requireUserAuthentication: false, enableUserAuthentication: true }, false],
  ])("reads Soketi's enableUserAuthentication as requireUserAuthentication: %j", (fields, required) => {
    const { apps, warnings } = parseApps({ apps: [{ ...base, ...fields }] }, "apps.json");
    expect(warnings).toEqual([]);
    expect(apps[0]!.requireUserAuthentication).toBe(required);
    expect(apps[0]).not.toHaveProperty("enableUserAuthentication");
  });

  it("reads webhooks in Soketi's shape", () => {
    const webhook = {
      url: "https://laravel.test/pusher/webhooks",
      headers: { Authorization: "Bearer x" },
      event_types: ["member_added", "member_removed"],
      filter: { channel_name_starts_with: "presence-", channel_name_ends_with: "-team" },
    };
    const { apps, warnings } = parseApps({ apps: [{ ...base, webhooks: [webhook, { url: "http://127.0.0.1:8000/hooks" }] }] }, "apps.json");
    expect(warnings).toEqual([]);
    expect(apps[0]!.webhooks).toEqual([
      {
        url: webhook.url,
        headers: { Authorization: "Bearer x" },
        eventTypes: new Set(["member_added", "member_removed"]),
        channelNameStartsWith: "presence-",
        channelNameEndsWith: "-team",
      },
      { url: "http://127.0.0.1:8000/hooks", headers: {}, eventTypes: undefined, channelNameStartsWith: undefined, channelNameEndsWith: undefined },
    ]);
  });

  it("warns about unknown fields by name", () => {
    const { warnings } = parseApps({ apps: [{ ...base, enableClientMesages: true }] }, "apps.json");
    expect(warnings).toEqual(['apps.json: app #1 (id "1"): unknown field "enableClientMesages" is ignored.']);
  });
});

describe("originAllowed", () => {
  it.each([
    ["https://app.example.com", ["*"], true],
    ["", ["*"], true],
    ["https://app.example.com", ["app.example.com"], true],
    ["https://app.example.com", ["https://app.example.com"], true],
    ["http://app.example.com", ["https://app.example.com"], false],
    ["https://a.b.example.com", ["*.example.com"], true],
    ["https://example.com", ["*.example.com"], false],
    ["https://evilexample.com", ["*.example.com"], false],
    ["https://other.com", ["app.example.com"], false],
    ["", ["app.example.com"], false],
    ["not a url", ["app.example.com"], false],
  ])("%s with %j → %s", (origin, allowed, expected) => {
    expect(originAllowed(origin, allowed)).toBe(expected);
  });
});

/**
 * Reads and validates apps.json. Every problem is reported with the file, the app
 * and the field, so a typo is found from the message alone.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { WEBHOOK_EVENT_NAMES } from "../protocol/webhook-events.js";
import type { AppsSource } from "../config.js";
import type { App, Webhook } from "./app.js";

const positiveInt = z.number().int().positive();

/** Headers that describe the connection or body, which the HTTP client owns. */
const FRAMING_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "expect", "te", "trailer"]);

function headerProblem(name: string, value: string): string | null {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return "is not a valid header name";
  if (FRAMING_HEADERS.has(name.toLowerCase())) return "is set by Herald's HTTP client and cannot be configured";
  if (/[\r\n\0]/.test(value)) return "must be on one line";
  return null;
}

const webhookSchema = z
  .object({
    url: z
      .string()
      .url("must be an http:// or https:// URL")
      .refine((url) => /^https?:\/\//i.test(url), "must be an http:// or https:// URL"),
    headers: z
      .record(z.string(), z.string())
      .superRefine((headers, ctx) => {
        for (const [name, value] of Object.entries(headers)) {
          const problem = headerProblem(name, value);
          if (problem) ctx.addIssue({ code: "custom", path: [name], message: problem });
        }
      })
      .default({}),
    event_types: z.array(z.enum(WEBHOOK_EVENT_NAMES)).min(1, "must name at least one event type, or be left out for all").optional(),
    filter: z
      .object({ channel_name_starts_with: z.string().optional(), channel_name_ends_with: z.string().optional() })
      .strict()
      .default({}),
  })
  // A misspelt field would silently widen what the webhook receives, so it is an error here.
  .strict();

/** Herald's own field; the defaults are the "offline queue" teams built themselves: a day, 100 events. */
const vacantChannelBufferSchema = z.strictObject({
  channelPrefix: z.string().min(1, "must be a non-empty string (a channel name prefix such as \"private-App.Models.User.\")"),
  ttlSeconds: z.number().int().min(1).max(604_800).default(86_400),
  maxEvents: z.number().int().min(1).max(1000).default(100),
});

const appSchema = z.object({
  id: z.string().min(1, "must be a non-empty string").regex(/^[^\x00-\x1f]+$/, "must not contain control characters"),
  key: z.string().min(1, "must be a non-empty string"),
  secret: z.string().min(1, "must be a non-empty string"),
  name: z.string().optional(),
  enabled: z.boolean().default(true),
  enableClientMessages: z.boolean().default(false),
  maxConnections: z.number().int().min(-1, "must be -1 (unlimited) or a count").default(-1),
  allowedOrigins: z.array(z.string().min(1)).default(["*"]),
  activityTimeout: z.number().int().min(1).max(3600).default(120),
  maxPresenceMembersPerChannel: positiveInt.default(100),
  maxPresenceMemberSizeInKb: z.number().positive().default(1),
  maxChannelNameLength: positiveInt.default(200),
  maxEventChannelsAtOnce: positiveInt.default(100),
  maxEventNameLength: positiveInt.default(200),
  maxEventPayloadInKb: z.number().positive().default(10),
  maxEventBatchSize: positiveInt.default(10),
  maxClientEventsPerSecond: z.number().int().min(-1, "must be -1 (unlimited) or a count").default(-1),
  maxBackendEventsPerSecond: z.number().int().min(-1, "must be -1 (unlimited) or a count").default(-1),
  maxReadRequestsPerSecond: z.number().int().min(-1, "must be -1 (unlimited) or a count").default(-1),
  enableSubscriptionCount: z.boolean().default(false),
  requireUserAuthentication: z.boolean().optional(),
  /** Soketi's name for requireUserAuthentication. */
  enableUserAuthentication: z.boolean().optional(),
  userAuthenticationTimeout: z.number().int().min(1).max(3600).default(30),
  webhooks: z.array(webhookSchema).default([]),
  vacantChannelBuffers: z.array(vacantChannelBufferSchema).default([]),
});

const knownFields = new Set(Object.keys(appSchema.shape));

export interface LoadedApps {
  apps: App[];
  /** Problems that do not stop the server, such as unknown (probably misspelt) fields. */
  warnings: string[];
}

export class AppsFileError extends Error {
  override name = "AppsFileError";
}

/** The apps of wherever the settings say they are; throws AppsFileError naming the problem. */
export function loadApps(source: AppsSource): LoadedApps {
  if (source.kind === "apps-file") return loadAppsFile(source.path);
  if (source.kind === "soketi-config") return loadSoketiConfig(source.path);
  return environmentApp(source.id, source.key, source.secret, `the ${source.prefix}* environment`);
}

export function loadAppsFile(path: string): LoadedApps {
  return parseApps(
    readJson(path, "Pass --apps <file> or set HERALD_APPS_FILE (in Docker, mount it: -v \"$PWD/apps.json:/app/apps.json:ro\"), or give one app with HERALD_APP_ID, HERALD_APP_KEY and HERALD_APP_SECRET."),
    path,
  );
}

/**
 * The apps of a Soketi config file: `appManager.array.apps`, nested or as the
 * dotted key Soketi also accepts. Soketi's app fields are Herald's.
 */
export function loadSoketiConfig(path: string): LoadedApps {
  const config = readJson(path, "Pass --soketi-config <file> or set HERALD_SOKETI_CONFIG.") as Record<string, unknown> | null;
  const nested = (config?.appManager as { array?: { apps?: unknown } } | undefined)?.array?.apps;
  const apps = config?.["appManager.array.apps"] ?? nested;
  if (!Array.isArray(apps)) throw new AppsFileError(`${path}: no appManager.array.apps list (Herald reads Soketi's array app manager only).`);
  return parseApps({ apps }, `${path} (appManager.array.apps)`);
}

/** The one app of HERALD_APP_* or REVERB_APP_*; as on Reverb, clients may whisper, so client events are on. */
export function environmentApp(id: string, key: string, secret: string, source: string): LoadedApps {
  return parseApps({ apps: [{ id, key, secret, enableClientMessages: true }] }, source);
}

function readJson(path: string, hint: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : String(error);
    throw new AppsFileError(`${path}: ${reason}. ${hint}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AppsFileError(`${path}: not valid JSON (${(error as Error).message}).`);
  }
}

/** Validates the parsed content of an apps file; `source` names it in messages. */
export function parseApps(json: unknown, source: string): LoadedApps {
  if (typeof json !== "object" || json === null || !Array.isArray((json as { apps?: unknown }).apps)) {
    throw new AppsFileError(`${source}: expected {"apps": [ ... ]} at the top level.`);
  }
  const entries = (json as { apps: unknown[] }).apps;
  const apps: App[] = [];
  const warnings: string[] = [];
  const ids = new Map<string, string>();
  const keys = new Map<string, string>();

  entries.forEach((entry, index) => {
    const label = describeApp(entry, index);
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new AppsFileError(`${source}: ${label} must be a JSON object.`);
    }
    for (const field of Object.keys(entry)) {
      if (!knownFields.has(field)) warnings.push(`${source}: ${label}: unknown field "${field}" is ignored.`);
    }
    const result = appSchema.safeParse(entry);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const field = issue.path.join(".") || "(app)";
      // zod's own messages are sentences ("Invalid option: ..."); they follow the field name here.
      const message = issue.message.charAt(0).toLowerCase() + issue.message.slice(1);
      throw new AppsFileError(`${source}: ${label}: field "${field}" ${message}.`);
    }
    const { enableUserAuthentication, requireUserAuthentication, webhooks, ...fields } = result.data;
    const app = {
      ...fields,
      requireUserAuthentication: requireUserAuthentication ?? enableUserAuthentication ?? false,
      webhooks: webhooks.map(
        (webhook): Webhook => Object.freeze({
          url: webhook.url,
          headers: Object.freeze(webhook.headers),
          eventTypes: webhook.event_types && new Set(webhook.event_types),
          channelNameStartsWith: webhook.filter.channel_name_starts_with,
          channelNameEndsWith: webhook.filter.channel_name_ends_with,
        }),
      ),
    };
    const sameId = ids.get(app.id);
    if (sameId) throw new AppsFileError(`${source}: ${label}: field "id" duplicates the id of ${sameId}.`);
    const sameKey = keys.get(app.key);
    if (sameKey) throw new AppsFileError(`${source}: ${label}: field "key" duplicates the key of ${sameKey}.`);
    ids.set(app.id, label);
    keys.set(app.key, label);
    apps.push(
      Object.freeze({
        ...app,
        name: app.name,
        allowedOrigins: Object.freeze([...app.allowedOrigins]),
        vacantChannelBuffers: Object.freeze(app.vacantChannelBuffers.map((rule) => Object.freeze(rule))),
      }),
    );
  });
  return { apps, warnings };
}

function describeApp(entry: unknown, index: number): string {
  const id = typeof entry === "object" && entry !== null ? (entry as { id?: unknown }).id : undefined;
  return typeof id === "string" && id.length > 0 ? `app #${index + 1} (id "${id}")` : `app #${index + 1}`;
}

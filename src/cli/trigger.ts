/**
 * `herald trigger`: publishes one event through a running Herald's HTTP API,
 * signed with the app's secret from apps.json, as a Laravel backend would. Events
 * for private-encrypted- channels are encrypted as the Pusher SDKs do it.
 */
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import nacl from "tweetnacl";
import { loadAppsFile } from "../apps/apps-file.js";
import { signedQueryString } from "../protocol/request-signature.js";
import { UsageError } from "./usage-error.js";

export const TRIGGER_USAGE = `Usage: herald trigger --app <id> --channel <name> --event <name> --data <json> [options]

  --app <id>                    the app, looked up in the apps file
  --channel <name>              the channel to publish to
  --event <name>                the event name
  --data <json>                 the event's data, as JSON (default {})
  --url <url>                   Herald's address (default http://127.0.0.1:6001, or HERALD_URL)
  --apps <file>                 the apps file (default ./apps.json, or HERALD_APPS_FILE)
  --encryption-master-key <base64>  for private-encrypted- channels: the app's
                                encryption master key (PUSHER_ENCRYPTION_MASTER_KEY_BASE64)`;

export async function trigger(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(`${TRIGGER_USAGE}\n`);
  const { values } = parseArgs({
    args: argv,
    options: {
      app: { type: "string" },
      channel: { type: "string" },
      event: { type: "string" },
      data: { type: "string" },
      url: { type: "string" },
      apps: { type: "string" },
      "encryption-master-key": { type: "string" },
    },
    strict: true,
  });
  const { app: appId, channel, event } = values;
  if (!appId || !channel || !event) throw new UsageError(`--app, --channel and --event are required.\n\n${TRIGGER_USAGE}`);
  const appsFile = values.apps ?? env.HERALD_APPS_FILE ?? "apps.json";
  const app = loadAppsFile(appsFile).apps.find((candidate) => candidate.id === appId);
  if (!app) throw new UsageError(`${appsFile} has no app with the id "${appId}".`);

  const rawData = values.data ?? "{}";
  try {
    JSON.parse(rawData);
  } catch {
    throw new UsageError(`--data must be JSON, e.g. '{"message":"hi"}'; got: ${rawData.slice(0, 100)}`);
  }
  let data = rawData;
  if (channel.startsWith("private-encrypted-")) {
    const masterKey = values["encryption-master-key"];
    if (!masterKey) throw new UsageError("private-encrypted- channels need --encryption-master-key <base64>, the key Laravel has as PUSHER_ENCRYPTION_MASTER_KEY_BASE64.");
    data = encrypt(channel, rawData, masterKeyBytes(masterKey));
  }

  const base = new URL(values.url ?? env.HERALD_URL ?? "http://127.0.0.1:6001");
  const path = `/apps/${encodeURIComponent(app.id)}/events`;
  const body = JSON.stringify({ name: event, channel, data });
  const query = signedQueryString(app, "POST", path, body, Date.now() / 1000);
  let response: Response;
  try {
    response = await fetch(new URL(`${path}?${query}`, base), { method: "POST", headers: { "content-type": "application/json" }, body });
  } catch (error) {
    throw new Error(`Cannot reach Herald at ${base.origin}: ${(error as Error).cause ?? (error as Error).message}. Is it running? Give its address with --url.`);
  }
  const answer = await response.text();
  if (!response.ok) throw new Error(`Herald answered ${response.status}: ${answer}`);
  process.stdout.write(`Sent ${event} to ${channel} of app ${app.id}.\n`);
}

function masterKeyBytes(base64: string): Uint8Array {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32) throw new UsageError(`--encryption-master-key must be 32 bytes in base64 (openssl rand -base64 32); it decodes to ${key.length} bytes.`);
  return key;
}

/** What pusher-js decrypts: nacl secretbox under SHA-256(channel name + master key). */
function encrypt(channel: string, plaintext: string, masterKey: Uint8Array): string {
  const sharedSecret = createHash("sha256").update(Buffer.concat([Buffer.from(channel), masterKey])).digest();
  const nonce = nacl.randomBytes(24);
  const ciphertext = nacl.secretbox(Buffer.from(plaintext, "utf8"), nonce, sharedSecret);
  return JSON.stringify({ nonce: Buffer.from(nonce).toString("base64"), ciphertext: Buffer.from(ciphertext).toString("base64") });
}

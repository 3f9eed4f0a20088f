/** The live log, newest first, with filters by type, channel prefix and text. */
import { useState } from "preact/hooks";
import type { Entry } from "./api.js";

/** Rows drawn at once: enough to read, few enough to draw at the pace of a busy app. */
const MAX_ROWS = 500;

const TYPES = [
  "connection_opened",
  "connection_closed",
  "subscribed",
  "unsubscribed",
  "subscription_refused",
  "channel_occupied",
  "channel_vacated",
  "member_added",
  "member_removed",
  "signin",
  "api_event",
  "client_event",
  "cache_miss",
  "webhook_sent",
  "webhook_failed",
  "rate_limited",
];

const LABELS: Record<string, string> = {
  connection_opened: "connection opened",
  connection_closed: "connection closed",
  subscribed: "subscribed",
  unsubscribed: "unsubscribed",
  subscription_refused: "subscription refused",
  channel_occupied: "channel occupied",
  channel_vacated: "channel vacated",
  member_added: "member added",
  member_removed: "member removed",
  signin: "signed in",
  api_event: "API event",
  client_event: "client event",
  cache_miss: "cache miss",
  webhook_sent: "webhook sent",
  webhook_failed: "webhook failed",
  rate_limited: "rate limited",
};

/** What an entry says, in one line. */
function summary(entry: Entry): string {
  const parts: string[] = [];
  if (entry.event) parts.push(`event ${entry.event}`);
  if (entry.channels) parts.push(`channels ${entry.channels.join(", ")}`);
  if (entry.socketId) parts.push(`socket ${entry.socketId}`);
  if (entry.userId) parts.push(`user ${entry.userId}`);
  if (entry.exceptSocketId) parts.push(`except ${entry.exceptSocketId}`);
  if (entry.origin) parts.push(`origin ${entry.origin}`);
  if (entry.transport) parts.push(`via ${entry.transport}`);
  if (entry.code !== undefined) parts.push(`code ${entry.code}`);
  if (entry.status !== undefined) parts.push(`status ${entry.status}`);
  if (entry.attempt !== undefined) parts.push(`attempt ${entry.attempt}`);
  if (entry.detail) parts.push(entry.detail);
  if (entry.payloadBytes !== undefined) parts.push(`${entry.payloadBytes} bytes`);
  return parts.join(" · ");
}

function formatted(payload: string, bytes: number | undefined): string {
  const cut = bytes !== undefined && bytes > new TextEncoder().encode(payload).length;
  try {
    return JSON.stringify(JSON.parse(payload), null, 2);
  } catch {
    return cut ? `${payload}…\n(preview of ${bytes} bytes)` : payload;
  }
}

function Row({ entry }: { entry: Entry }) {
  const [open, setOpen] = useState(false);
  return (
    <li class={`entry ${entry.type}`}>
      <div class="line">
        <time>{new Date(entry.time).toLocaleTimeString(undefined, { hour12: false })}.{String(entry.time % 1000).padStart(3, "0")}</time>
        <span class="type">{LABELS[entry.type] ?? entry.type}</span>
        <span class="channel">{entry.channel ?? ""}</span>
        <span class="summary">{summary(entry)}</span>
        <span class="node">node {entry.node}</span>
        {entry.payload !== undefined && (
          <button type="button" class="link" aria-expanded={open} onClick={() => setOpen(!open)}>
            {open ? "Hide payload" : "Payload"}
          </button>
        )}
      </div>
      {open && entry.payload !== undefined && <pre class="payload">{formatted(entry.payload, entry.payloadBytes)}</pre>}
    </li>
  );
}

export function EventLog(props: {
  entries: Entry[];
  olderDropped: number;
  serverDropped: number;
  paused: boolean;
  serverPaused: boolean;
  onPause: (paused: boolean) => void;
  onClear: () => void;
}) {
  const [type, setType] = useState("");
  const [channel, setChannel] = useState("");
  const [text, setText] = useState("");
  const needle = text.toLowerCase();
  const shown = props.entries.filter(
    (entry) =>
      (!type || entry.type === type) &&
      (!channel || (entry.channel ?? "").startsWith(channel) || (entry.channels ?? []).some((name) => name.startsWith(channel))) &&
      (!needle || JSON.stringify(entry).toLowerCase().includes(needle)),
  );
  return (
    <section class="log" aria-label="Live event log">
      <h2>Live event log</h2>
      <div class="filters">
        <label>
          Type{" "}
          <select value={type} onChange={(event) => setType(event.currentTarget.value)}>
            <option value="">all</option>
            {TYPES.map((name) => (
              <option value={name} key={name}>
                {LABELS[name]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Channel prefix <input value={channel} onInput={(event) => setChannel(event.currentTarget.value)} placeholder="private-" />
        </label>
        <label>
          Search <input value={text} onInput={(event) => setText(event.currentTarget.value)} />
        </label>
        <button type="button" onClick={() => props.onPause(!props.paused)}>
          {props.paused ? "Resume" : "Pause"}
        </button>
        <button type="button" onClick={props.onClear}>
          Clear
        </button>
      </div>
      <p class="muted" role="status">
        {shown.length} of {props.entries.length} entries shown
        {props.serverPaused ? " · paused: new entries are dropped by the server" : ""}
        {props.serverDropped > 0 ? ` · ${props.serverDropped} entries dropped` : ""}
        {props.olderDropped > 0 ? ` · ${props.olderDropped} older entries dropped (the page keeps 2000)` : ""}
      </p>
      {shown.length > MAX_ROWS && (
        <p class="muted">
          Showing the newest {MAX_ROWS}; filter to find older ones.
        </p>
      )}
      <ol class="entries">
        {shown.slice(0, MAX_ROWS).map((entry) => (
          <Row entry={entry} key={entry.seq} />
        ))}
      </ol>
    </section>
  );
}

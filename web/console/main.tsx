/**
 * Herald's console: pick an app, watch its live log, send an event, see its
 * channels and its stats. Everything comes from the ops listener of the node that
 * served the page; the feed brings every node's entries.
 */
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { Unauthorized, saveToken, savedToken, openFeed, type AppSummary, type Entry, type FeedControl } from "./api.js";
import { Channels } from "./channels.js";
import { EventCreator } from "./event-creator.js";
import { EventLog } from "./event-log.js";
import { Stats } from "./stats.js";
import { usePolling } from "./use-polling.js";

/** The page keeps this many entries; older ones are dropped, and counted. */
const MAX_ENTRIES = 2000;

function SignIn({ message, onSignedIn }: { message: string; onSignedIn: () => void }) {
  const [token, setToken] = useState("");
  return (
    <main class="sign-in">
      <h1>Herald console</h1>
      <p>{message}</p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          saveToken(token);
          onSignedIn();
        }}
      >
        <label>
          Token <input type="password" value={token} onInput={(event) => setToken(event.currentTarget.value)} autoComplete="off" />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

function Console() {
  const [problem, setProblem] = useState<string | null>(null);
  const [node, setNode] = useState("");
  const [apps, setApps] = useState<AppSummary[]>([]);
  const [appId, setAppId] = useState("");
  const [entries, setEntries] = useState<Entry[]>([]);
  const [olderDropped, setOlderDropped] = useState(0);
  const [serverDropped, setServerDropped] = useState(0);
  const [paused, setPaused] = useState(false);
  /** Whether the server has stopped sending: it says so once it has heard the page. */
  const [serverPaused, setServerPaused] = useState(false);
  const [feedState, setFeedState] = useState("connecting");
  /** The app the server said it now sends the entries of: the feed is live for the picked app only once it has. */
  const [watched, setWatched] = useState("");
  const feed = useRef<WebSocket | null>(null);
  const [attempt, setAttempt] = useState(0);

  // The app list follows reloads of apps.json.
  usePolling<{ apps: AppSummary[] }>(
    "/apps",
    10_000,
    (body) => {
      setApps(body.apps);
      setAppId((current) => (current && body.apps.some((app) => app.id === current) ? current : (body.apps[0]?.id ?? "")));
    },
    (error) => error instanceof Unauthorized && setProblem(error.message),
    [attempt],
  );

  useEffect(() => {
    setWatched("");
    let received = 0;
    // Entries are taken in batches, a few times a second, so a busy app does not re-render the page per entry.
    let arrived: Entry[] = [];
    const flush = setInterval(() => {
      if (arrived.length === 0) return;
      const batch = arrived.reverse();
      arrived = [];
      setEntries((current) => {
        const next = [...batch, ...current];
        if (next.length <= MAX_ENTRIES) return next;
        setOlderDropped((count) => count + next.length - MAX_ENTRIES);
        return next.slice(0, MAX_ENTRIES);
      });
    }, 200);
    const socket = openFeed(
      (message) => {
        if ("kind" in message) return control(message);
        message.seq = ++received;
        arrived.push(message);
      },
      (reason) => setFeedState(`disconnected: ${reason}`),
    );
    const control = (message: FeedControl) => {
      if (message.kind === "hello") {
        setNode(message.node);
        setFeedState("live");
      } else if (message.kind === "watching") setWatched(message.app);
      else if (message.kind === "dropped") setServerDropped(message.count);
      else if (message.kind === "paused") setServerPaused(message.paused);
      else if (message.kind === "error") setProblem(message.message);
    };
    feed.current = socket;
    return () => {
      clearInterval(flush);
      socket.close();
    };
  }, [attempt]);

  useEffect(() => {
    const socket = feed.current;
    if (!socket || !appId) return;
    const send = () => socket.send(JSON.stringify({ app: appId }));
    if (socket.readyState === WebSocket.OPEN) send();
    else socket.addEventListener("open", () => setTimeout(send, 0), { once: true });
  }, [appId, attempt]);

  useEffect(() => {
    const socket = feed.current;
    if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ paused }));
  }, [paused]);

  if (problem) {
    return (
      <SignIn
        message={savedToken() ? `Signing in failed: ${problem}` : problem}
        onSignedIn={() => {
          setProblem(null);
          setAttempt((count) => count + 1);
        }}
      />
    );
  }

  return (
    <div class="console">
      <header>
        <h1>Herald console</h1>
        <label class="app-picker">
          App{" "}
          <select value={appId} onChange={(event) => setAppId(event.currentTarget.value)}>
            {apps.map((app) => (
              <option value={app.id} key={app.id}>
                {app.id}
                {app.enabled ? "" : " (disabled)"}
              </option>
            ))}
          </select>
        </label>
        <span class="muted">
          node {node || "…"} · feed {feedState === "live" && watched !== appId ? "connecting" : feedState}
        </span>
      </header>
      <div class="columns">
        <EventLog
          entries={entries.filter((entry) => entry.appId === appId)}
          olderDropped={olderDropped}
          serverDropped={serverDropped}
          paused={paused}
          serverPaused={serverPaused}
          onPause={setPaused}
          onClear={() => {
            setEntries([]);
            setOlderDropped(0);
          }}
        />
        <aside>
          {appId && <EventCreator appId={appId} key={`creator-${appId}`} />}
          {appId && <Channels appId={appId} key={`channels-${appId}`} />}
          {appId && <Stats appId={appId} key={`stats-${appId}`} />}
        </aside>
      </div>
    </div>
  );
}

render(<Console />, document.getElementById("root")!);

/** Sends an event through the same path as POST /apps/{id}/events, and shows the answer. */
import { useState } from "preact/hooks";
import { call } from "./api.js";

export function EventCreator({ appId }: { appId: string }) {
  const [channel, setChannel] = useState("my-channel");
  const [event, setEvent] = useState("my-event");
  const [data, setData] = useState('{"message": "hello"}');
  const [answer, setAnswer] = useState<{ ok: boolean; text: string } | null>(null);

  const send = async () => {
    try {
      JSON.parse(data);
    } catch {
      return setAnswer({ ok: false, text: "Data is not valid JSON." });
    }
    try {
      const { status, body } = await call<{ error?: string }>(`/apps/${encodeURIComponent(appId)}/events`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ name: event, channels: channel.split(",").map((name) => name.trim()), data }),
      });
      setAnswer(status === 200 ? { ok: true, text: `Sent (200 ${JSON.stringify(body)})` } : { ok: false, text: `${status}: ${body.error ?? JSON.stringify(body)}` });
    } catch (error) {
      setAnswer({ ok: false, text: String(error) });
    }
  };

  return (
    <section aria-label="Event creator">
      <h2>Event creator</h2>
      <form
        class="creator"
        onSubmit={(submitted) => {
          submitted.preventDefault();
          void send();
        }}
      >
        <label>
          Channel <input value={channel} onInput={(input) => setChannel(input.currentTarget.value)} />
        </label>
        <label>
          Event <input value={event} onInput={(input) => setEvent(input.currentTarget.value)} />
        </label>
        <label>
          Data <textarea rows={4} value={data} onInput={(input) => setData(input.currentTarget.value)} />
        </label>
        <button type="submit">Send</button>
      </form>
      {answer && (
        <p class={answer.ok ? "answer ok" : "answer error"} role="status">
          {answer.text}
        </p>
      )}
    </section>
  );
}

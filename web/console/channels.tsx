/** The app's occupied channels with their subscribers, and who is in each presence channel: cluster-wide. */
import { useEffect, useState } from "preact/hooks";
import { call, type ChannelRow } from "./api.js";

export function Channels({ appId }: { appId: string }) {
  const [channels, setChannels] = useState<ChannelRow[] | null>(null);
  const [problem, setProblem] = useState("");
  useEffect(() => {
    let stopped = false;
    const load = () =>
      call<{ channels?: ChannelRow[]; error?: string }>(`/apps/${encodeURIComponent(appId)}/channels`).then(
        ({ body }) => {
          if (stopped) return;
          if (body.channels) {
            setChannels(body.channels);
            setProblem("");
          } else setProblem(body.error ?? "unavailable");
        },
        (error: unknown) => !stopped && setProblem(String(error)),
      );
    void load();
    const timer = setInterval(load, 3000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [appId]);

  return (
    <section aria-label="Channels">
      <h2>Channels</h2>
      {problem && <p class="answer error">{problem}</p>}
      {channels && channels.length === 0 && <p class="muted">No occupied channels.</p>}
      {channels && channels.length > 0 && (
        <table class="channels">
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Subscribers</th>
            </tr>
          </thead>
          <tbody>
            {channels.map((channel) => (
              <tr key={channel.name}>
                <td>
                  {channel.name}
                  {channel.members && (
                    <ul class="members" aria-label={`Members of ${channel.name}`}>
                      {channel.members.map((member) => (
                        <li key={member.id}>
                          {member.id} <span class="muted">{member.info === undefined ? "" : JSON.stringify(member.info)}</span>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  {channel.subscriptionCount}
                  {channel.userCount !== undefined ? ` (${channel.userCount} users)` : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

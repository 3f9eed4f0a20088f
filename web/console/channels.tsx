/** The app's occupied channels with their subscribers, and who is in each presence channel: cluster-wide. */
import { useState } from "preact/hooks";
import type { ChannelRow } from "./api.js";
import { usePolling } from "./use-polling.js";

export function Channels({ appId }: { appId: string }) {
  const [channels, setChannels] = useState<ChannelRow[] | null>(null);
  const [problem, setProblem] = useState("");
  usePolling<{ channels?: ChannelRow[]; error?: string }>(
    `/apps/${encodeURIComponent(appId)}/channels`,
    3000,
    (body) => {
      if (body.channels) {
        setChannels(body.channels);
        setProblem("");
      } else setProblem(body.error ?? "unavailable");
    },
    (error) => setProblem(String(error)),
    [appId],
  );

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

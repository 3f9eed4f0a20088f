/** Live stats of the app on this node: the last 15 minutes, refreshed every few seconds. */
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import type { StatsSample } from "./api.js";
import { usePolling } from "./use-polling.js";

const SERIES: Array<[keyof StatsSample, string, string]> = [
  ["connections", "Connections", "#2563eb"],
  ["messagesInPerSecond", "Messages in /s", "#16a34a"],
  ["messagesOutPerSecond", "Messages out /s", "#9333ea"],
  ["apiRequestsPerSecond", "API requests /s", "#ea580c"],
  ["webhookQueue", "Webhook queue", "#dc2626"],
];

export function Stats({ appId }: { appId: string }) {
  const [samples, setSamples] = useState<StatsSample[]>([]);
  const [node, setNode] = useState("");
  const chartBox = useRef<HTMLDivElement>(null);
  const chart = useRef<uPlot | null>(null);

  usePolling<{ node: string; samples?: StatsSample[] }>(
    `/apps/${encodeURIComponent(appId)}/stats`,
    5000,
    (body) => {
      if (!body.samples) return;
      setSamples(body.samples);
      setNode(body.node);
    },
    () => undefined,
    [appId],
  );

  useEffect(() => {
    if (!chartBox.current) return;
    const data: uPlot.AlignedData = [samples.map((sample) => sample.time / 1000), ...SERIES.map(([field]) => samples.map((sample) => sample[field] as number))];
    if (!chart.current) {
      chart.current = new uPlot(
        {
          width: Math.max(chartBox.current.clientWidth, 300),
          height: 180,
          // Always the last 15 minutes, however few samples there are yet.
          scales: { x: { time: true, range: () => [Date.now() / 1000 - 15 * 60, Date.now() / 1000] } },
          series: [{}, ...SERIES.map(([, label, stroke]) => ({ label, stroke, width: 1.5, points: { show: true, size: 4 } }))],
          axes: [{}, { size: 40 }],
          legend: { show: false },
        },
        data,
        chartBox.current,
      );
    } else chart.current.setData(data);
  }, [samples]);

  useEffect(() => () => chart.current?.destroy(), []);

  const latest = samples[samples.length - 1];
  return (
    <section aria-label="Live stats">
      <h2>Live stats</h2>
      <p class="muted">
        {latest ? `node ${node}, every 5 s, last 15 minutes` : "The first figures come within 5 s."}
      </p>
      {latest && (
        <dl class="figures">
          {SERIES.map(([field, label, colour]) => (
            <div key={field}>
              <dt>
                {/* Set through the DOM, which the page's Content-Security-Policy allows (an inline style attribute it would not). */}
                <i style={{ background: colour }} aria-hidden="true" />
                {label}
              </dt>
              <dd>{latest[field]}</dd>
            </div>
          ))}
        </dl>
      )}
      <div ref={chartBox} class="chart" role="img" aria-label="Chart of the last 15 minutes" />
    </section>
  );
}

import type { App } from "../apps/app.js";
import type { ChannelDirectory } from "../channels/channel-directory.js";
import { DEPARTURE_HOLD_MS, DepartureHold } from "../channels/departure-hold.js";
import { type Occupancy, type OccupancyEvents } from "./cluster.js";

/** The occupancy of a single process: this node's channels are all there are. */
export class LocalOccupancy implements Occupancy {
  private readonly vacating = new DepartureHold(DEPARTURE_HOLD_MS);

  constructor(
    private readonly channels: ChannelDirectory,
    private readonly events: OccupancyEvents,
  ) {}

  changed(app: App, channel: string, joined: boolean): void {
    if (!this.events.heard(app)) return;
    const count = this.channels.forApp(app.id).subscriptionCount(channel);
    if (count !== (joined ? 1 : 0)) return; // only the first in and the last out change occupancy
    const key = `${app.id}\n${channel}`;
    if (!joined) this.vacating.hold(key, () => this.events.channelVacated(app, channel));
    else if (!this.vacating.cancel(key)) this.events.channelOccupied(app, channel);
  }

  async subscriptionCount(appId: string, channel: string): Promise<number> {
    return this.channels.forApp(appId).subscriptionCount(channel);
  }

  async occupiedChannels(appId: string, prefix: string): Promise<string[]> {
    return this.channels.forApp(appId).occupiedChannels(prefix);
  }

  settled(): Promise<void> {
    return this.vacating.settled();
  }

  stop(): void {
    this.vacating.stop();
  }
}

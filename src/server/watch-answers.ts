import { WATCHERS_PREFIX } from "../protocol/channel-names.js";

/**
 * A watchlist's first `online` event names the watched users online when the socket signed
 * in. A single node knows at once; worker threads and a cluster answer later, and meanwhile
 * the socket already hears its watched users come and go: it joins their topics before it
 * asks, so that it misses none. A user whose coming or going reached this node's topics
 * between the question and its answer is left out of the answer: the socket heard of it
 * already, and the answer may be the older news (it once named, after an `online` the
 * socket had heard, the same user again; after an `offline`, it would have named a user who
 * had gone).
 *
 * Only while a question waits is anything noted, so a node whose apps use no watchlists
 * pays one check per local delivery.
 */
export class WatchAnswers {
  /** The questions waiting, each with the announcements' count when it was asked; in the order asked, so the first is the oldest. */
  private readonly asking = new Map<number, number>();
  private lastQuestion = 0;
  /** Announcements delivered here while a question waited. */
  private announcements = 0;
  /** "app\nuser" → the number of the user's last announcement; the oldest first. */
  private readonly heard = new Map<string, number>();

  get waiting(): boolean {
    return this.asking.size !== 0;
  }

  /** Called with each message handed to this node's subscribers while `waiting`. */
  delivered(appId: string, channel: string): void {
    if (!channel.startsWith(WATCHERS_PREFIX)) return;
    const user = `${appId}\n${channel.slice(WATCHERS_PREFIX.length)}`;
    // Set anew, not updated: `heard` stays in the order of the numbers, for forget().
    this.heard.delete(user);
    this.heard.set(user, ++this.announcements);
  }

  /** The users `question` finds online, less those the socket, subscribed to their topics before asking, has heard of since. */
  async unheard(appId: string, question: Promise<string[]>): Promise<string[]> {
    const id = ++this.lastQuestion;
    const askedAt = this.announcements;
    this.asking.set(id, askedAt);
    try {
      const online = await question;
      return online.filter((userId) => (this.heard.get(`${appId}\n${userId}`) ?? 0) <= askedAt);
    } finally {
      this.asking.delete(id);
      this.forget();
    }
  }

  /** Drops what no waiting question can still ask about: announcements before the oldest one. */
  private forget(): void {
    const oldest = this.asking.values().next().value ?? Infinity;
    for (const [user, number] of this.heard) {
      if (number > oldest) return;
      this.heard.delete(user);
    }
  }
}

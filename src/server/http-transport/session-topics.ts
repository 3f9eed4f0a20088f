/**
 * Which HTTP-transport sessions hear which topics. Sessions are not uWebSockets.js
 * subscribers, so the fan-out hands a frame to them here, once per session of the
 * topic, after the engine has handed it to its WebSockets; with no session on the
 * node the fan-out only reads `size`.
 */
import type { NodeSocket } from "../connection.js";

/** What the fan-out needs of a session. */
export interface TopicListener {
  send(frame: string): unknown;
}

export class SessionTopics {
  private readonly byTopic = new Map<string, Set<TopicListener>>();

  /** Topics with at least one session. */
  get size(): number {
    return this.byTopic.size;
  }

  add(topic: string, session: TopicListener): void {
    const sessions = this.byTopic.get(topic);
    if (sessions) sessions.add(session);
    else this.byTopic.set(topic, new Set([session]));
  }

  remove(topic: string, session: TopicListener): void {
    const sessions = this.byTopic.get(topic);
    if (!sessions?.delete(session) || sessions.size > 0) return;
    this.byTopic.delete(topic);
  }

  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  /** Hands `frame` to the topic's sessions but `except`; answers how many got it. */
  deliver(topic: string, frame: string, except: NodeSocket | undefined): number {
    const sessions = this.byTopic.get(topic);
    if (!sessions) return 0;
    let delivered = 0;
    for (const session of sessions) {
      if (session === except) continue;
      session.send(frame);
      delivered += 1;
    }
    return delivered;
  }
}

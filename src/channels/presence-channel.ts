/**
 * The members of one presence channel on this node. A member is a user id; a user
 * with several sockets (tabs) is one member, added with its first socket and
 * removed with its last.
 */
import { inJsonString, presenceData, type PresenceData } from "../protocol/server-frames.js";

export interface PresenceSnapshot {
  ids: string[];
  hash: Record<string, unknown>;
  count: number;
}

/**
 * A presence channel's users, in the order they came, with subscription_succeeded's
 * data kept encoded: a new user is added to that text, not encoded with all the
 * others again, so a storm of n joins encodes n users instead of n²/2 (bench/RESULTS.md,
 * "Presence storms"). A departure has the text encoded whole when next asked for.
 * `Member` is what the holder counts of each user (its sockets here, or, in the
 * threads' hub, the threads with a socket of it).
 */
export class PresenceList<Member extends { readonly info: unknown }> {
  private static generations = 0;
  readonly users = new Map<string, Member>();
  /**
   * `"id1","id2"` and `"id1":info1,"id2":info2`, each escaped to go inside a JSON string
   * (inJsonString), and each user's two parts apart, in the order they came (what was added
   * since a count of users, without copying the lists: addedSince); undefined until first asked
   * for and once a user left. No user_info is null, as Redis keeps it (an undefined would drop
   * the user from the hash). Encoded when asked for, not before: a worker thread's own list
   * never is (the hub answers).
   */
  private encoded: Encoded | undefined;
  /**
   * Unique to this list's encoded text until a user leaves: while it holds, the text only grows,
   * so what was read of it before is its beginning (the threads' hub sends only what was added).
   */
  generation = PresenceList.generations++;

  add(userId: string, member: Member): void {
    this.users.set(userId, member);
    if (this.encoded) append(this.encoded, userId, member.info);
  }

  delete(userId: string): void {
    if (!this.users.delete(userId)) return;
    this.encoded = undefined;
    this.generation = PresenceList.generations++;
  }

  /** subscription_succeeded's data. JSON's order of the hash is the order of joins; clients read it into an object, which has an order of its own. */
  data(): PresenceData {
    const { ids, hash } = this.lists();
    return presenceData(ids, hash, this.users.size);
  }

  /** The ids and the hash as subscription_succeeded's data holds them (presenceData), as they are now. */
  lists(): { readonly ids: string; readonly hash: string } {
    // A copy: the kept lists grow with the next member.
    const { ids, hash } = this.encode();
    return { ids, hash };
  }

  /**
   * What lists() holds past its first `count` users (with the comma before, if any): while the
   * generation holds, the lists are what they were at `count` users followed by this. Slicing
   * the lists instead flattened and copied them whole, each time (bench/RESULTS.md, "B5 warmed
   * up per thread, and a join's answer without the whole list").
   */
  addedSince(count: number): { readonly ids: string; readonly hash: string } {
    const { idParts, hashParts } = this.encode();
    if (count >= idParts.length) return { ids: "", hash: "" };
    const comma = count === 0 ? "" : ",";
    return { ids: comma + idParts.slice(count).join(","), hash: comma + hashParts.slice(count).join(",") };
  }

  private encode(): Encoded {
    if (!this.encoded) {
      this.encoded = { ids: "", hash: "", idParts: [], hashParts: [] };
      for (const [userId, { info }] of this.users) append(this.encoded, userId, info);
    }
    return this.encoded;
  }

  snapshot(): PresenceSnapshot {
    const hash: Record<string, unknown> = {};
    for (const [userId, member] of this.users) hash[userId] = member.info ?? null;
    return { ids: [...this.users.keys()], hash, count: this.users.size };
  }
}

interface Encoded {
  ids: string;
  hash: string;
  readonly idParts: string[];
  readonly hashParts: string[];
}

/** Adds a user to the encoded lists. */
function append(encoded: Encoded, userId: string, info: unknown): void {
  const comma = encoded.idParts.length === 0 ? "" : ",";
  const id = inJsonString(JSON.stringify(userId));
  const pair = `${id}:${inJsonString(JSON.stringify(info ?? null))}`;
  encoded.ids += comma + id;
  encoded.hash += comma + pair;
  encoded.idParts.push(id);
  encoded.hashParts.push(pair);
}

/** subscription_succeeded's data for a channel nobody is in. */
export const NO_MEMBERS = presenceData("", "", 0);

export class PresenceMembers {
  private readonly list = new PresenceList<{ readonly info: unknown; sockets: number }>();

  get count(): number {
    return this.list.users.size;
  }

  has(userId: string): boolean {
    return this.list.users.has(userId);
  }

  /** Adds one socket of a user; true when it is the user's first, so the others hear member_added. */
  join(userId: string, info: unknown): boolean {
    const member = this.list.users.get(userId);
    if (member) {
      member.sockets += 1;
      return false;
    }
    this.list.add(userId, { info, sockets: 1 });
    return true;
  }

  /** Removes one socket of a user; true when it was the user's last, so the others hear member_removed. */
  leave(userId: string): boolean {
    const member = this.list.users.get(userId);
    if (!member) return false;
    member.sockets -= 1;
    if (member.sockets > 0) return false;
    this.list.delete(userId);
    return true;
  }

  userIds(): string[] {
    return [...this.list.users.keys()];
  }

  snapshot(): PresenceSnapshot {
    return this.list.snapshot();
  }

  data(): PresenceData {
    return this.list.data();
  }
}

/**
 * The members of one presence channel on this node. A member is a user id; a user
 * with several sockets (tabs) is one member, added with its first socket and
 * removed with its last.
 */
export interface PresenceSnapshot {
  ids: string[];
  hash: Record<string, unknown>;
  count: number;
}

interface Member {
  info: unknown;
  sockets: number;
}

export class PresenceMembers {
  private readonly members = new Map<string, Member>();

  get count(): number {
    return this.members.size;
  }

  has(userId: string): boolean {
    return this.members.has(userId);
  }

  /** Adds one socket of a user; true when it is the user's first, so the others hear member_added. */
  join(userId: string, info: unknown): boolean {
    const member = this.members.get(userId);
    if (member) {
      member.sockets += 1;
      return false;
    }
    this.members.set(userId, { info, sockets: 1 });
    return true;
  }

  /** Removes one socket of a user; true when it was the user's last, so the others hear member_removed. */
  leave(userId: string): boolean {
    const member = this.members.get(userId);
    if (!member) return false;
    member.sockets -= 1;
    if (member.sockets > 0) return false;
    this.members.delete(userId);
    return true;
  }

  userIds(): string[] {
    return [...this.members.keys()];
  }

  snapshot(): PresenceSnapshot {
    const hash: Record<string, unknown> = {};
    for (const [id, member] of this.members) hash[id] = member.info;
    return { ids: Object.keys(hash), hash, count: this.members.size };
  }
}

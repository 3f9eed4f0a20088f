/**
 * The `user_data` of `pusher:signin`: a JSON string the app's user-auth endpoint
 * signed, with the user's `id` and optionally `user_info` and `watchlist`.
 */

/** Pusher's limit on the users one user may watch; over it the signin stands but the watchlist is refused (4302). */
export const MAX_WATCHLIST_LENGTH = 100;

const MAX_USER_ID_LENGTH = 128;

export interface SignedInUser {
  readonly id: string;
  /** Presence `user_info` for channels joined without channel_data. */
  readonly info: unknown;
  /** The users this one wants online/offline events for; empty when none. */
  readonly watchlist: readonly string[];
}

export type ParsedUserData = { ok: true; user: SignedInUser } | { ok: false; message: string };

const invalid = (message: string): ParsedUserData => ({ ok: false, message });

export function parseUserData(userData: string): ParsedUserData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(userData);
  } catch {
    return invalid("user_data is not valid JSON.");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return invalid("user_data must be a JSON object with an \"id\".");
  }
  const { id, user_info: info, watchlist } = parsed as Record<string, unknown>;
  if (typeof id !== "string" || id.length === 0) return invalid("user_data has no \"id\" (a non-empty string).");
  if (id.length > MAX_USER_ID_LENGTH) return invalid(`The user id is longer than ${MAX_USER_ID_LENGTH} characters.`);
  if (watchlist === undefined) return { ok: true, user: { id, info, watchlist: [] } };
  const ids = Array.isArray(watchlist) ? watchlist.map(watchedUserId) : [null];
  if (ids.includes(null)) {
    return invalid("The \"watchlist\" of user_data must be an array of user ids (non-empty strings or numbers).");
  }
  return { ok: true, user: { id, info, watchlist: [...new Set(ids as string[])] } };
}

/**
 * Backends build watchlists from their keys (Laravel's `pluck('id')` gives
 * integers) and the SDKs sign them unchecked, so a number stands for the user id
 * it spells, as a presence `user_id` does.
 */
function watchedUserId(entry: unknown): string | null {
  if (typeof entry === "number" && Number.isFinite(entry)) return String(entry);
  return typeof entry === "string" && entry.length > 0 ? entry : null;
}

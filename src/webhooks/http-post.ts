/** One webhook request over Node's built-in fetch. */

/** `status` is the HTTP status when an answer came. */
export type PostResult = { ok: true; status: number } | { ok: false; reason: string; status?: number };

/** Resolves with why a request failed rather than rejecting, so the caller only decides about retrying. */
export type Post = (url: string, headers: Readonly<Record<string, string>>, body: string) => Promise<PostResult>;

/** Hears every webhook request's outcome (the console shows them); `attempt` counts from 1. */
export type WebhookAttempts = (appId: string, url: string, attempt: number, events: number, result: PostResult) => void;

/** A receiver slower than this counts as failed and is retried. */
const REQUEST_TIMEOUT_MS = 10_000;

export const postJson: Post = async (url, headers, body) => {
  try {
    const response = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    // The answer's body is of no use; dropping it frees the connection without reading an unbounded stream.
    await response.body?.cancel();
    return response.ok ? { ok: true, status: response.status } : { ok: false, reason: `HTTP ${response.status}`, status: response.status };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, reason: cause ?? (error instanceof Error ? error.message : String(error)) };
  }
};

/**
 * Small helpers for uWebSockets.js HTTP responses. uWS sends "200 OK" unless the
 * status is written before any header, and forbids writing to an aborted
 * response; these helpers take care of both.
 */
import type { HttpRequest, HttpResponse } from "./uws.js";

/** Status lines uWS needs written out in full. */
export const STATUS_TEXT: Record<number, string> = {
  200: "200 OK",
  400: "400 Bad Request",
  401: "401 Unauthorized",
  403: "403 Forbidden",
  404: "404 Not Found",
  413: "413 Payload Too Large",
  429: "429 Too Many Requests",
  500: "500 Internal Server Error",
  503: "503 Service Unavailable",
};

/** Tracks whether the client went away, which uWS reports once through onAborted. */
export interface ResponseState {
  aborted: boolean;
  /**
   * A HEAD request's: answered with the headers a GET gets and no body (RFC 9110). uWS
   * would write the body, which the client then reads as the start of its next response.
   */
  readonly headOnly: boolean;
}

/** `req`, when given, tells a HEAD request (read at once: uWS's request is gone after the handler returns). */
export function watchAbort(res: HttpResponse, req?: HttpRequest): ResponseState {
  const state = { aborted: false, headOnly: req?.getMethod() === "head" };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

/** The `{}` most successful API calls answer with, encoded once. */
export const EMPTY_JSON_BODY: object = Object.freeze({});

export function sendJson(
  res: HttpResponse,
  state: ResponseState,
  status: number,
  body: unknown,
  closeConnection = false,
  retryAfterSeconds?: number,
): void {
  if (state.aborted) return;
  state.aborted = true; // a response is written once
  const text = body === EMPTY_JSON_BODY ? "{}" : JSON.stringify(body);
  res.cork(() => {
    res.writeStatus(STATUS_TEXT[status] ?? `${status} Error`).writeHeader("Content-Type", "application/json");
    if (retryAfterSeconds !== undefined) res.writeHeader("Retry-After", String(retryAfterSeconds));
    // uWS 20.30 leaves a response open when endWithoutBody has arguments, so the length is a
    // header here; and a HEAD has no body left unread that would make closing necessary.
    if (state.headOnly) res.writeHeader("Content-Length", String(Buffer.byteLength(text))).endWithoutBody();
    else res.end(text, closeConnection);
  });
}

export function sendError(res: HttpResponse, state: ResponseState, status: number, error: string, closeConnection = false): void {
  sendJson(res, state, status, { error }, closeConnection);
}

/**
 * Collects a request body up to `limitBytes`. Chunks from uWS are only valid
 * during the callback, so `onBody` must use the buffer before it returns: a body
 * in one chunk (the usual case) is handed over in place, others are copied
 * together. Past the limit, `onTooLarge` runs once and the rest is ignored.
 */
export function readBody(
  res: HttpResponse,
  limitBytes: number,
  onBody: (body: Buffer) => void,
  onTooLarge: () => void,
): void {
  let chunks: Buffer[] | undefined;
  let size = 0;
  let overflowed = false;
  res.onData((chunk, isLast) => {
    if (overflowed) return;
    size += chunk.byteLength;
    if (size > limitBytes) {
      overflowed = true;
      onTooLarge();
      return;
    }
    if (isLast && !chunks) return onBody(Buffer.from(chunk));
    (chunks ??= []).push(Buffer.from(chunk.slice(0)));
    if (isLast) onBody(Buffer.concat(chunks, size));
  });
}

/**
 * Who may use the console. With a token (--console-token), every call must bear
 * it; without one, only this machine may, so a console is never opened to the
 * network by accident. Pure: the HTTP glue passes in what it read.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";

export type ConsoleAccess = { ok: true } | { ok: false; status: 401 | 403; message: string };

export interface ConsoleCaller {
  /** The peer's address as the engine reports it. */
  remoteAddress: string;
  /** The Authorization header, or the token a feed sent as its first message, as "Bearer <token>". */
  authorization: string;
  /** Whether the request came through a proxy (X-Forwarded-For or Forwarded): then loopback proves nothing. */
  proxied: boolean;
}

const NEEDS_TOKEN = "This console needs its token: sign in with the value of --console-token / HERALD_CONSOLE_TOKEN.";
const LOOPBACK_ONLY =
  "The console answers only requests from this machine while no token is set. Set --console-token / HERALD_CONSOLE_TOKEN to use it from elsewhere (through a proxy, in Docker, over the network).";

export function consoleAccess(token: string | undefined, caller: ConsoleCaller): ConsoleAccess {
  if (token !== undefined) {
    const given = caller.authorization.startsWith("Bearer ") ? caller.authorization.slice(7) : "";
    return sameSecret(given, token) ? { ok: true } : { ok: false, status: 401, message: NEEDS_TOKEN };
  }
  return !caller.proxied && isLoopback(caller.remoteAddress) ? { ok: true } : { ok: false, status: 403, message: LOOPBACK_ONLY };
}

/** Compares digests, so the time taken says nothing of the token, not even its length. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** 127.0.0.0/8 and ::1, written any way (uWS spells IPv6 out in full; IPv4 may come mapped into IPv6). */
export function isLoopback(address: string): boolean {
  if (isIP(address) === 4) return address.startsWith("127.");
  if (isIP(address) !== 6) return false;
  const groups = expandIpv6(address);
  if (!groups) return false;
  if (groups.slice(0, 7).every((group) => group === 0) && groups[7] === 1) return true;
  // ::ffff:127.x.y.z
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff && groups[6]! >> 8 === 127;
}

function expandIpv6(address: string): number[] | null {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((group) => parseInt(group, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return null;
  return [...front, ...new Array<number>(missing).fill(0), ...back];
}

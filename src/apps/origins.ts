/**
 * Whether a browser Origin header is allowed by an app's `allowedOrigins`.
 * Entries are `*` (anything), an exact origin (`https://app.example.com`), an
 * exact host (`app.example.com`) or a wildcard host (`*.example.com`, which
 * matches subdomains but not example.com itself).
 */
export function originAllowed(origin: string, allowedOrigins: readonly string[]): boolean {
  if (allowedOrigins.includes("*")) return true;
  // Non-browser clients send no Origin; an app that restricts origins wants browsers only.
  if (origin.length === 0) return false;
  let host: string;
  try {
    host = new URL(origin).hostname;
  } catch {
    return false;
  }
  return allowedOrigins.some((allowed) => {
    if (allowed === origin) return true;
    if (allowed.startsWith("*.")) return host.endsWith(allowed.slice(1));
    return allowed === host;
  });
}

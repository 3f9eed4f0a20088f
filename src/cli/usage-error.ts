/** A command used wrongly: the message says how to use it, and the exit code is 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

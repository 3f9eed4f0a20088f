/** Calls the console's API now and every `intervalMs`, until the component goes or `deps` change. */
import { useEffect } from "preact/hooks";
import { call } from "./api.js";

export function usePolling<T>(
  path: string,
  intervalMs: number,
  onAnswer: (body: T) => void,
  onError: (error: unknown) => void,
  deps: readonly unknown[],
): void {
  useEffect(() => {
    let stopped = false;
    const load = () =>
      call<T>(path).then(
        ({ body }) => !stopped && onAnswer(body),
        (error: unknown) => !stopped && onError(error),
      );
    void load();
    const timer = setInterval(load, intervalMs);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
    // The caller names what the poll depends on.
  }, deps);
}

/** The public port's uWebSockets.js app: plain, or TLS from --ssl-cert and --ssl-key. */
import { accessSync, constants } from "node:fs";
import type { Config } from "../config.js";
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp } from "./uws.js";

export class TlsSetupError extends Error {
  override name = "TlsSetupError";
}

export function createUwsApp(tls: Config["tls"]): TemplatedApp {
  if (!tls) return uWS.App();
  const { certFile, keyFile, passphrase } = tls;
  for (const [what, file] of [["certificate (--ssl-cert)", certFile], ["key (--ssl-key)", keyFile]] as const) {
    try {
      accessSync(file, constants.R_OK);
    } catch {
      throw new TlsSetupError(`Cannot read the TLS ${what} at ${file}.`);
    }
  }
  try {
    return uWS.SSLApp({ cert_file_name: certFile, key_file_name: keyFile, ...(passphrase ? { passphrase } : {}) });
  } catch {
    throw new TlsSetupError(`The TLS certificate ${certFile} and key ${keyFile} could not be loaded: check that both are PEM, that they belong together, and the passphrase (--ssl-passphrase) if the key has one.`);
  }
}

const METHODS = ["get", "post", "options", "del", "patch", "put", "head", "any"] as const;

/**
 * The app, its HTTP routes answering 503 and closing the connection while `refusing()`
 * says so (a worker thread that failed; see worker.ts). Without `refusing`, the app
 * itself: one thread pays nothing for it.
 */
export function refusingWhen<App extends TemplatedApp>(app: App, refusing: (() => boolean) | undefined): App {
  if (!refusing) return app;
  for (const method of METHODS) {
    const route = app[method].bind(app) as (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) => App;
    (app as unknown as Record<string, unknown>)[method] = (pattern: string, handler: (res: HttpResponse, req: HttpRequest) => void) =>
      route(pattern, (res, req) => {
        if (!refusing()) return handler(res, req);
        res.cork(() => res.writeStatus("503 Service Unavailable").writeHeader("Content-Type", "text/plain; charset=utf-8").end("This worker thread stopped; send the request again.", true));
      });
  }
  return app;
}

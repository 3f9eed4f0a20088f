/** The public port's uWebSockets.js app: plain, or TLS from --ssl-cert and --ssl-key. */
import { accessSync, constants } from "node:fs";
import type { Config } from "../config.js";
import uWS, { type TemplatedApp } from "./uws.js";

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

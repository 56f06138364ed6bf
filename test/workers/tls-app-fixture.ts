// A data plane in this process serving httpbin.example.com over TLS (SIMPLE, the walkthrough's
// certificate) on a free loopback port, proxying to one test backend: the setup of the worker
// tests that look at TLS connections from inside (exchange-reuse-tls, tls-native-writes).
import type { Server } from "bun";
import { secretYaml } from "../../src/cli/certs.ts";
import { setPost, startClock } from "../../workers/context.ts";
import { applyClusters } from "../../workers/http/clusters.ts";
import { abortAll, applyListeners, stopAll } from "../../workers/listeners.ts";
import { httpbinHttpsApp } from "../helpers/config.ts";
import { walkthroughPki, type WalkthroughPki } from "../helpers/pki.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import { startBackend } from "./backend.ts";
import { freePort } from "./snapshot-fixture.ts";

export interface TlsApp {
  pki: WalkthroughPki;
  backend: Server<undefined>;
  /** The local port of the Gateway's 443. */
  port: number;
  stop(): void;
}

export async function startTlsApp(): Promise<TlsApp> {
  const pki = await walkthroughPki();
  const backend = startBackend("a");
  const port = freePort();
  setPost(() => {});
  startClock();
  const yaml = [
    httpbinHttpsApp([[443, "https", "SIMPLE", "app-credential"]], backend.port!),
    secretYaml("app-credential", "istio-system", "tls", pki.httpbin.cert, pki.httpbin.key),
  ].join("\n---\n");
  applyListeners(applyClusters(compileYaml(yaml, { portMap: new Map([[443, port]]), bindAddress: "127.0.0.1" })));
  return {
    pki,
    backend,
    port,
    stop() {
      abortAll();
      stopAll();
      backend.stop(true);
    },
  };
}

// `npm run demo`: the walkthrough's httpbin on loopback, and the gateway on the
// shipped example configuration (config/quickstart), with the curl commands to try.
// Extra arguments go to the gateway (e.g. `npm run demo -- --workers 1`).
import { join } from "node:path";
import { startHttpbin } from "./httpbin.ts";

const ROOT = join(import.meta.dir, "..", "..");
const HTTP_PORT = Number(process.env.GANGWAY_DEMO_HTTP_PORT ?? 8080);
const HTTPS_PORT = Number(process.env.GANGWAY_DEMO_HTTPS_PORT ?? 8443);
const ADMIN = process.env.GANGWAY_DEMO_ADMIN ?? "127.0.0.1:15000";

// config/backends/httpbin.yaml's EndpointSlice points at 127.0.0.1:18080
const httpbin = startHttpbin({ port: 18080, name: "httpbin" });

const args = [
  join(ROOT, "src/main.ts"),
  "--config", join(ROOT, "config/quickstart"),
  "--port-map", `80:${HTTP_PORT},443:${HTTPS_PORT}`,
  "--admin", ADMIN,
  ...process.argv.slice(2),
];
const gateway = Bun.spawn([process.execPath, ...args], { stdout: "inherit", stderr: "inherit", stdin: "ignore" });

const h = `http://127.0.0.1:${HTTP_PORT}`;
process.stderr.write(`
gangway demo: httpbin look-alike on 127.0.0.1:${httpbin.port}, gateway on ${h} (Gateway port 80), admin on ${ADMIN}

Try (the walkthrough's "Ingress网关" steps):
  curl -s -I -HHost:httpbin.example.com ${h}/status/200     # 200, server: istio-envoy
  curl -s -I -HHost:httpbin.example.com ${h}/headers        # 404: no route for this path
  curl -s -I -HHost:other.example.com   ${h}/status/200     # 404: no virtual host
  curl -s http://${ADMIN}/config_dump | head -40
  bun run gateway explain --config config/quickstart --host httpbin.example.com --path /headers

Edit files under config/ while it runs: changes are applied without a restart.
Ctrl-C stops both.

`);

let stopping = false;
const stop = (sig: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  gateway.kill(sig);
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
const code = await gateway.exited;
await httpbin.stop();
process.exit(code);

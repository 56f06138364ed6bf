// `npm run demo`: the walkthrough's httpbin and helloworld on loopback, and the
// gateway on the shipped example configuration (config/quickstart), with the curl
// commands to try. `npm run demo -- 05-tls-simple` serves a step of
// config/walkthrough/ instead (with config/backends). Other arguments go to the
// gateway (e.g. `npm run demo -- --workers 1`).
import { join } from "node:path";
import { startHttpbin } from "./httpbin.ts";

const ROOT = join(import.meta.dir, "..", "..");
const HTTP_PORT = Number(process.env.GANGWAY_DEMO_HTTP_PORT ?? 8080);
const HTTPS_PORT = Number(process.env.GANGWAY_DEMO_HTTPS_PORT ?? 8443);
const ADMIN = process.env.GANGWAY_DEMO_ADMIN ?? "127.0.0.1:15000";

// config/backends/*.yaml's EndpointSlices point at 127.0.0.1:18080 and :18081
const httpbin = startHttpbin({ port: 18080, name: "httpbin" });
const helloworld = startHttpbin({ port: 18081, name: "helloworld-v1" });

const argv = process.argv.slice(2);
const step = argv[0] !== undefined && !argv[0].startsWith("-") ? argv.shift()! : null;
const configs = step === null ? [join(ROOT, "config/quickstart")] : [join(ROOT, "config/backends"), join(ROOT, "config/walkthrough", step)];

const args = [
  join(ROOT, "src/main.ts"),
  ...configs.flatMap((c) => ["--config", c]),
  "--port-map", `80:${HTTP_PORT},443:${HTTPS_PORT}`,
  "--admin", ADMIN,
  ...argv,
];
const gateway = Bun.spawn([process.execPath, ...args], { stdout: "inherit", stderr: "inherit", stdin: "ignore" });

const h = `http://127.0.0.1:${HTTP_PORT}`;
const resolve = (host: string) => `--resolve ${host}:${HTTPS_PORT}:127.0.0.1 --cacert config/certs/example.com.crt https://${host}:${HTTPS_PORT}`;
process.stderr.write(`
gangway demo: httpbin on 127.0.0.1:${httpbin.port}, helloworld-v1 on 127.0.0.1:${helloworld.port}
gateway: ${configs.map((c) => c.slice(ROOT.length + 1)).join(" + ")}; port 80 on ${h}, 443 on ${HTTPS_PORT}; admin on ${ADMIN}

Try (the walkthrough's "Ingress网关" steps, the default configuration):
  curl -s -I -HHost:httpbin.example.com ${h}/status/200     # 200, server: istio-envoy
  curl -s -I -HHost:httpbin.example.com ${h}/headers        # 404: no route for this path
  curl -s -I -HHost:other.example.com   ${h}/status/200     # 404: no virtual host
  curl -s http://${ADMIN}/config_dump | head -40
  bun run gateway explain --config config/quickstart --host httpbin.example.com --path /headers

Other steps: npm run demo -- 02-wildcard-host | 03-ingress | 04-ingress-class | 05-tls-simple | 06-tls-multi-host | 07-mutual-tls
  (TLS)    curl -s ${resolve("httpbin.example.com")}/status/418
  (hosts)  curl -s ${resolve("helloworld-v1.example.com")}/hello
  (mutual) curl -s --cert config/certs/client.example.com.crt --key config/certs/client.example.com.key ${resolve("httpbin.example.com")}/status/418

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
await helloworld.stop();
process.exit(code);

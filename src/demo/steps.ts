// The demo's steps (config/quickstart and config/walkthrough/*), each with the
// commands that try it. Pure: main.ts starts things, this says what to print.
import { editDistance } from "../validate/suggest.ts";

export interface DemoPorts {
  http: number;
  https: number;
  /** HOST:PORT */
  admin: string;
  httpbin: number;
  helloworld: number;
  nginx: number;
}

export const DEFAULT_PORTS: DemoPorts = { http: 8080, https: 8443, admin: "127.0.0.1:15000", httpbin: 18080, helloworld: 18081, nginx: 18443 };

export interface Step {
  name: string;
  title: string;
  /** Configuration directories, relative to the repository root. */
  configs: string[];
  /** Runs the walkthrough's nginx (PASSTHROUGH). */
  nginx?: boolean;
  /** Lines of commands to try, each a command and what it shows. */
  tries(p: DemoPorts): [string, string][];
}

const CA = "--cacert config/certs/example.com.crt";
const CLIENT = "--cert config/certs/client.example.com.crt --key config/certs/client.example.com.key";

function http(p: DemoPorts): string {
  return `http://127.0.0.1:${p.http}`;
}

/** curl's arguments to reach `host` on the HTTPS port as its name resolves in the walkthrough. */
function https(p: DemoPorts, host: string): string {
  return `--resolve ${host}:${p.https}:127.0.0.1 ${CA} https://${host}:${p.https}`;
}

function explain(configs: string[], host: string, path: string, port = 80): string {
  return `npx gangway explain ${configs.map((c) => `--config ${c}`).join(" ")} --host ${host} --path ${path}${port !== 80 ? ` --port ${port}` : ""}`;
}

const httpGateway = (configs: string[]) => (p: DemoPorts): [string, string][] => [
  [`curl -s -I -HHost:httpbin.example.com ${http(p)}/status/200`, "200, server: istio-envoy"],
  [`curl -s -I -HHost:httpbin.example.com ${http(p)}/headers`, "404: no route for this path"],
  [`curl -s -I -HHost:other.example.com ${http(p)}/status/200`, "404: no virtual host"],
  [explain(configs, "httpbin.example.com", "/headers"), "why /headers is a 404"],
];

const ingress = (configs: string[]) => (p: DemoPorts): [string, string][] => [
  [`curl -s -I -HHost:httpbin.example.com ${http(p)}/status/200`, "200: the Ingress rule /status/*"],
  [`curl -s -I -HHost:httpbin.example.com ${http(p)}/headers`, "404: no rule for this path"],
  [explain(configs, "httpbin.example.com", "/status/200"), "the route the Ingress became"],
];

const tlsSimple = (p: DemoPorts): [string, string][] => [
  [`curl -s ${https(p, "httpbin.example.com")}/status/418`, "the teapot, over TLS"],
  [`curl -s -o /dev/null -w '%{http_version} %{http_code}\\n' ${https(p, "httpbin.example.com")}/status/200`, "2 200: HTTP/2 by ALPN"],
  [`curl -s ${https(p, "other.example.com")}/status/418; echo "exit $?"`, "handshake fails: no server for this SNI"],
];

const B = "config/backends";
const W = (s: string) => `config/walkthrough/${s}`;

export const STEPS: Step[] = [
  { name: "quickstart", title: "Gateway on 80 for httpbin.example.com, /status and /delay (the default)", configs: ["config/quickstart"], tries: httpGateway(["config/quickstart"]) },
  { name: "01-http-gateway", title: "the same, as the walkthrough's step 1", configs: [B, W("01-http-gateway")], tries: httpGateway([B, W("01-http-gateway")]) },
  {
    name: "02-wildcard-host",
    title: 'hosts "*": any Host header reaches /headers',
    configs: [B, W("02-wildcard-host")],
    tries: (p) => [
      [`curl -s ${http(p)}/headers`, "200 with the request's headers, no Host override needed"],
      [`curl -s -I ${http(p)}/status/200`, "404: only /headers is routed"],
    ],
  },
  { name: "03-ingress", title: "a Kubernetes Ingress with kubernetes.io/ingress.class: istio", configs: [B, W("03-ingress")], tries: ingress([B, W("03-ingress")]) },
  { name: "04-ingress-class", title: "the same Ingress with an IngressClass", configs: [B, W("04-ingress-class")], tries: ingress([B, W("04-ingress-class")]) },
  { name: "05-tls-simple", title: "SIMPLE TLS on 443 for httpbin.example.com", configs: [B, W("05-tls-simple")], tries: tlsSimple },
  {
    name: "06-tls-multi-host",
    title: "two hosts on 443, each with its own credential",
    configs: [B, W("06-tls-multi-host")],
    tries: (p) => [
      [`curl -s ${https(p, "httpbin.example.com")}/status/418`, "the teapot, httpbin's certificate"],
      [`curl -s ${https(p, "helloworld-v1.example.com")}/hello`, "Hello version: helloworld-v1, helloworld's certificate"],
    ],
  },
  {
    name: "07-mutual-tls",
    title: "MUTUAL TLS: the client must present a certificate signed by the credential's CA",
    configs: [B, W("07-mutual-tls")],
    tries: (p) => [
      [`curl -s ${CLIENT} ${https(p, "httpbin.example.com")}/status/418`, "the teapot, with the client certificate"],
      [`curl -s ${https(p, "httpbin.example.com")}/status/418; echo "exit $?"`, "refused without one: curl fails (exit 35, 55 or 56 as TLS 1.3 reports it)"],
    ],
  },
  {
    name: "08-tls-passthrough",
    title: "PASSTHROUGH: TLS is not terminated, nginx answers with its own certificate",
    configs: [W("08-tls-passthrough")],
    nginx: true,
    tries: (p) => [
      [`curl -s ${https(p, "nginx.example.com")} | grep title`, "<title>Welcome to nginx!</title>"],
      [`curl -sv ${https(p, "nginx.example.com")} -o /dev/null 2>&1 | grep -E 'subject:|issuer:'`, "nginx's certificate (O=some organization), not the gateway's"],
    ],
  },
];

/** The variable that sets each port (README, `npm run demo -- --help`). */
export const PORT_VARIABLES: Record<keyof DemoPorts, string> = {
  http: "GANGWAY_DEMO_HTTP_PORT",
  https: "GANGWAY_DEMO_HTTPS_PORT",
  admin: "GANGWAY_DEMO_ADMIN",
  httpbin: "GANGWAY_DEMO_HTTPBIN_PORT",
  helloworld: "GANGWAY_DEMO_HELLOWORLD_PORT",
  nginx: "GANGWAY_DEMO_NGINX_PORT",
};

/**
 * Two of the demo's listeners on one port (all of them are on loopback), or null: the
 * second to bind would fail, and not always with a message naming the port (an admin
 * port a backend holds stops the gateway with "Failed to listen"; a traffic port
 * nginx holds leaves it not ready). `nginx`: the step runs nginx (its port counts).
 */
export function portClash(p: DemoPorts, nginx: boolean): string | null {
  const admin = /:(\d+)$/.exec(p.admin);
  const used: [keyof DemoPorts, number][] = [["http", p.http], ["https", p.https], ["httpbin", p.httpbin], ["helloworld", p.helloworld]];
  if (admin !== null && Number(admin[1]) !== 0) used.splice(2, 0, ["admin", Number(admin[1])]);
  if (nginx) used.push(["nginx", p.nginx]);
  for (let i = 0; i < used.length; i++) {
    for (let j = i + 1; j < used.length; j++) {
      if (used[i]![1] === used[j]![1]) return `${PORT_VARIABLES[used[i]![0]]} and ${PORT_VARIABLES[used[j]![0]]} both name port ${used[i]![1]}: each needs a port of its own`;
    }
  }
  return null;
}

/** The step `arg` names (exactly, or the only one it starts: `05`, `05-tls`), or an error listing the steps. */
export function findStep(arg: string | null): { step: Step } | { error: string } {
  if (arg === null) return { step: STEPS[0]! };
  const exact = STEPS.find((s) => s.name === arg);
  if (exact !== undefined) return { step: exact };
  const prefixed = STEPS.filter((s) => s.name.startsWith(arg));
  if (prefixed.length === 1) return { step: prefixed[0]! };
  // a typo of a whole name, or of the start of one (`05-tsl`)
  let near: string | null = null;
  let best = Infinity;
  for (const s of STEPS) {
    const d = Math.min(editDistance(arg, s.name), editDistance(arg, s.name.slice(0, arg.length)));
    if (d < best) [near, best] = [s.name, d];
  }
  if (best > 2 || best * 2 >= arg.length) near = null;
  return { error: `unknown step "${arg}"${near !== null ? `; did you mean "${near}"?` : ""}\n\n${stepList()}` };
}

export function stepList(): string {
  const w = Math.max(...STEPS.map((s) => s.name.length));
  return `steps (npm run demo -- STEP):\n${STEPS.map((s) => `  ${s.name.padEnd(w)}  ${s.title}`).join("\n")}\n`;
}

/** What the demo prints once it is up. */
export function banner(step: Step, p: DemoPorts, configs: string[], nginxUp: boolean): string {
  const tries = step.tries(p);
  const w = Math.min(100, Math.max(...tries.map(([c]) => c.length)));
  const backends = [`httpbin on 127.0.0.1:${p.httpbin}`, `helloworld-v1 on 127.0.0.1:${p.helloworld}`, ...(nginxUp ? [`nginx on 127.0.0.1:${p.nginx}`] : [])];
  return `
gangway demo, step ${step.name}: ${step.title}
  backends: ${backends.join(", ")}
  gateway:  ${configs.join(" + ")}; port 80 on 127.0.0.1:${p.http}, 443 on 127.0.0.1:${p.https}; admin on ${p.admin}

Try:
${tries.map(([c, what]) => `  ${c.padEnd(w)}  # ${what}`).join("\n")}
  curl -s http://${p.admin}/config_dump | head -40
  npx gangway proxy-config listeners --admin ${p.admin}

Other steps: npm run demo -- ${STEPS.filter((s) => s !== step).map((s) => s.name).join(" | ")}
Edit files under ${configs.join(", ")} while it runs: changes apply without a restart. Ctrl-C stops everything.

`;
}

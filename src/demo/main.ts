// `npm run demo [-- STEP] [gateway options]`: the walkthrough's httpbin and helloworld
// on loopback (and its nginx for the PASSTHROUGH step), and the gateway on a step of
// config/ (config/quickstart by default), with commands to try that work as printed.
// A mistyped step prints the steps and exits 2 before anything starts. Other arguments
// go to the gateway (e.g. `npm run demo -- --workers 1`). The gateway's traffic ports
// bind 127.0.0.1 as its backends do (`npm run demo -- --bind 0.0.0.0` to reach it from
// elsewhere: a later --bind wins).
//
// Ports (environment): GANGWAY_DEMO_HTTP_PORT (8080, the Gateway's port 80),
// GANGWAY_DEMO_HTTPS_PORT (8443, port 443), GANGWAY_DEMO_ADMIN (127.0.0.1:15000),
// GANGWAY_DEMO_HTTPBIN_PORT (18080), GANGWAY_DEMO_HELLOWORLD_PORT (18081),
// GANGWAY_DEMO_NGINX_PORT (18443). Backends on other ports than the ones config/
// names are served from a copy of the configuration with those ports.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { startHttpbin, type Backend } from "./httpbin.ts";
import { NGINX_BINARY, startNginx, type Nginx } from "./nginx.ts";
import { banner, DEFAULT_PORTS, findStep, portClash, stepList, type DemoPorts } from "./steps.ts";

const ROOT = join(import.meta.dir, "..", "..");

// a signal before the gateway runs stops the demo too, never leaving a gateway behind
let gateway: ReturnType<typeof Bun.spawn> | null = null;
let stopSignal: NodeJS.Signals | null = null;
const stop = (sig: NodeJS.Signals) => {
  if (stopSignal !== null) return;
  stopSignal = sig;
  gateway?.kill(sig);
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

function portFrom(env: string, fallback: number): number {
  const v = process.env[env];
  if (v === undefined || v === "") return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    process.stderr.write(`demo: ${env}="${v}" is not a port number\n`);
    process.exit(2);
  }
  return Number(v);
}

const ports: DemoPorts = {
  http: portFrom("GANGWAY_DEMO_HTTP_PORT", DEFAULT_PORTS.http),
  https: portFrom("GANGWAY_DEMO_HTTPS_PORT", DEFAULT_PORTS.https),
  admin: process.env.GANGWAY_DEMO_ADMIN || DEFAULT_PORTS.admin,
  httpbin: portFrom("GANGWAY_DEMO_HTTPBIN_PORT", DEFAULT_PORTS.httpbin),
  helloworld: portFrom("GANGWAY_DEMO_HELLOWORLD_PORT", DEFAULT_PORTS.helloworld),
  nginx: portFrom("GANGWAY_DEMO_NGINX_PORT", DEFAULT_PORTS.nginx),
};

const argv = process.argv.slice(2);
if (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "list") {
  process.stdout.write(
    `usage: npm run demo [-- STEP] [gateway options]\n\n${stepList()}\n` +
      "ports (environment): GANGWAY_DEMO_HTTP_PORT (8080, the Gateway's port 80), GANGWAY_DEMO_HTTPS_PORT (8443, port 443),\n" +
      "  GANGWAY_DEMO_ADMIN (127.0.0.1:15000), GANGWAY_DEMO_HTTPBIN_PORT (18080), GANGWAY_DEMO_HELLOWORLD_PORT (18081),\n" +
      "  GANGWAY_DEMO_NGINX_PORT (18443)\n",
  );
  process.exit(0);
}
const found = findStep(argv[0] !== undefined && !argv[0].startsWith("-") ? argv.shift()! : null);
if ("error" in found) {
  process.stderr.write(`demo: ${found.error}`);
  process.exit(2);
}
const step = found.step;
// two listeners on one port: said before anything starts (the second bind would fail, not always saying why)
const clash = portClash(ports, step.nginx === true);
if (clash !== null) {
  process.stderr.write(`demo: ${clash}\n`);
  process.exit(2);
}
if (step.nginx === true && NGINX_BINARY === null) {
  process.stderr.write(`demo: step ${step.name} runs the walkthrough's nginx (my-nginx), and nginx is not installed here.\n` +
    "Install it (Debian/Ubuntu: apt-get install nginx-light) and run the step again; the other steps need nothing more.\n");
  process.exit(1);
}

/**
 * The configuration directories to serve: as shipped, or a copy with the backend ports
 * changed when they are not the ones config/ names (config/quickstart is backends + step 1).
 */
function configDirs(): { dirs: string[]; shown: string[]; tmp: string | null } {
  const swaps: [string, number][] = [];
  if (ports.httpbin !== DEFAULT_PORTS.httpbin) swaps.push([`port: ${DEFAULT_PORTS.httpbin}`, ports.httpbin]);
  if (ports.helloworld !== DEFAULT_PORTS.helloworld) swaps.push([`port: ${DEFAULT_PORTS.helloworld}`, ports.helloworld]);
  if (ports.nginx !== DEFAULT_PORTS.nginx) swaps.push([`port: ${DEFAULT_PORTS.nginx}`, ports.nginx]);
  if (swaps.length === 0) return { dirs: step.configs.map((c) => join(ROOT, c)), shown: step.configs, tmp: null };
  const tmp = mkdtempSync(join(tmpdir(), "gangway-demo-"));
  const rels = step.configs.flatMap((c) => (c === "config/quickstart" ? ["config/backends", "config/walkthrough/01-http-gateway"] : [c]));
  const dirs = rels.map((rel) => {
    const to = join(tmp, rel.replace(/\//g, "_"));
    cpSync(join(ROOT, rel), to, { recursive: true, dereference: true });
    for (const f of readdirSync(to)) {
      const p = join(to, f);
      if (!statSync(p).isFile()) continue;
      let text = readFileSync(p, "utf8");
      for (const [from, port] of swaps) text = text.replaceAll(from, `port: ${port}`);
      writeFileSync(p, text);
    }
    return to;
  });
  return { dirs, shown: dirs, tmp };
}

/** Start a backend on its fixed port; a port another program holds stops the demo with a clear line. */
function backend(name: string, port: number, env: string): Backend {
  try {
    return startHttpbin({ port, name });
  } catch (err) {
    process.stderr.write(`demo: cannot listen on 127.0.0.1:${port} for ${name} (${(err as Error).message}): another program (another demo?) holds it. ` +
      `Stop it, or set ${env} to a free port.\n`);
    process.exit(1);
  }
}

const httpbin = backend("httpbin", ports.httpbin, "GANGWAY_DEMO_HTTPBIN_PORT");
const helloworld = backend("helloworld-v1", ports.helloworld, "GANGWAY_DEMO_HELLOWORLD_PORT");
let nginx: Nginx | null = null;
if (step.nginx === true) {
  try {
    nginx = await startNginx({
      port: ports.nginx,
      serverName: "nginx.example.com",
      cert: readFileSync(join(ROOT, "config/certs/nginx.example.com.crt"), "utf8"),
      key: readFileSync(join(ROOT, "config/certs/nginx.example.com.key"), "utf8"),
    });
  } catch (err) {
    process.stderr.write(`demo: nginx did not start on 127.0.0.1:${ports.nginx} (${(err as Error).message.trim()}); set GANGWAY_DEMO_NGINX_PORT to a free port if it is taken\n`);
    await httpbin.stop();
    await helloworld.stop();
    process.exit(1);
  }
}

const { dirs, shown, tmp } = configDirs();
const args = [
  join(ROOT, "src/main.ts"),
  ...dirs.flatMap((c) => ["--config", c]),
  "--port-map", `80:${ports.http},443:${ports.https}`,
  "--admin", ports.admin,
  "--bind", "127.0.0.1",
  ...argv,
];
const child = Bun.spawn([process.execPath, ...args], { stdout: "inherit", stderr: "inherit", stdin: "ignore" });
gateway = child;
if (stopSignal !== null) child.kill(stopSignal);
else process.stderr.write(banner(step, ports, shown.map((d) => (d.startsWith(ROOT) ? relative(ROOT, d) : d)), nginx !== null));
const code = await child.exited;
await httpbin.stop();
await helloworld.stop();
await nginx?.stop();
if (tmp !== null) rmSync(tmp, { recursive: true, force: true });
process.exit(code);

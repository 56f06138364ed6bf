// `npm run demo -- STEP`: a mistyped step lists the steps and exits 2 before starting
// anything; a step's banner prints commands that work as printed (run here with bash
// and curl against the demo on free ports).
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../helpers/gateway.ts";
import { NGINX_BINARY } from "../../src/demo/nginx.ts";
import { portClash, STEPS } from "../../src/demo/steps.ts";

const ROOT = join(import.meta.dir, "..", "..");
const hasCurl = Bun.which("curl") !== null && Bun.which("bash") !== null;
if (!hasCurl) console.warn("curl or bash not found: the demo's printed commands are not run (apt-get install curl, as .ci/run does)");
if (NGINX_BINARY === null) console.warn("nginx not found: the demo's PASSTHROUGH step is not tried (apt-get install nginx-light, as .ci/run does)");

/** Six distinct free loopback ports (two picks of port 0 may name the same port). */
async function demoEnv(): Promise<Record<string, string>> {
  const ports = new Set<number>();
  while (ports.size < 6) ports.add(await freePort());
  const [http, https, admin, httpbin, helloworld, nginx] = [...ports];
  return {
    GANGWAY_DEMO_HTTP_PORT: String(http),
    GANGWAY_DEMO_HTTPS_PORT: String(https),
    GANGWAY_DEMO_ADMIN: `127.0.0.1:${admin}`,
    GANGWAY_DEMO_HTTPBIN_PORT: String(httpbin),
    GANGWAY_DEMO_HELLOWORLD_PORT: String(helloworld),
    GANGWAY_DEMO_NGINX_PORT: String(nginx),
  };
}

async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn([process.execPath, "src/demo/main.ts", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: o + e };
}

describe("demo steps", () => {
  test("a mistyped step: one line with a did-you-mean, the list of steps, exit 2, nothing started", async () => {
    const env = await demoEnv();
    const r = await run(["05-tsl"], env);
    expect(r.code).toBe(2);
    expect(r.out.split("\n")[0]).toBe('demo: unknown step "05-tsl"; did you mean "05-tls-simple"?');
    for (const s of STEPS) expect(r.out).toContain(s.name);
    expect(r.out).not.toContain("gangway demo, step");
    // nothing was started: the backend port is still free
    const probe = Bun.listen({ hostname: "127.0.0.1", port: Number(env.GANGWAY_DEMO_HTTPBIN_PORT), socket: { data() {} } });
    probe.stop(true);
  });

  test("two port variables naming one port: one line naming both, exit 2, nothing started", async () => {
    // as two picks of port 0 may draw them: the admin port on a backend's (the gateway then
    // stopped with "cannot start the admin listener ... Failed to listen", after the backends started)
    const env = await demoEnv();
    const port = env.GANGWAY_DEMO_HTTPBIN_PORT!;
    const r = await run(["05-tls-simple"], { ...env, GANGWAY_DEMO_ADMIN: `127.0.0.1:${port}` });
    expect(r.code).toBe(2);
    expect(r.out).toBe(`demo: GANGWAY_DEMO_ADMIN and GANGWAY_DEMO_HTTPBIN_PORT both name port ${port}: each needs a port of its own\n`);
    const probe = Bun.listen({ hostname: "127.0.0.1", port: Number(port), socket: { data() {} } });
    probe.stop(true);
  });

  test("portClash: every pair of the demo's listeners, nginx's port only for the step that runs it", () => {
    const p = { http: 1, https: 2, admin: "127.0.0.1:3", httpbin: 4, helloworld: 5, nginx: 6 };
    expect(portClash(p, true)).toBeNull();
    expect(portClash({ ...p, https: 1 }, false)).toBe("GANGWAY_DEMO_HTTP_PORT and GANGWAY_DEMO_HTTPS_PORT both name port 1: each needs a port of its own");
    expect(portClash({ ...p, admin: "127.0.0.1:6" }, true)).toBe("GANGWAY_DEMO_ADMIN and GANGWAY_DEMO_NGINX_PORT both name port 6: each needs a port of its own");
    expect(portClash({ ...p, admin: "127.0.0.1:6" }, false)).toBeNull(); // no nginx in this step
    expect(portClash({ ...p, admin: "[::1]:4" }, false)).toBe("GANGWAY_DEMO_ADMIN and GANGWAY_DEMO_HTTPBIN_PORT both name port 4: each needs a port of its own");
    expect(portClash({ ...p, helloworld: 4 }, false)).toBe("GANGWAY_DEMO_HTTPBIN_PORT and GANGWAY_DEMO_HELLOWORLD_PORT both name port 4: each needs a port of its own");
    expect(portClash({ ...p, nginx: 2 }, true)).toBe("GANGWAY_DEMO_HTTPS_PORT and GANGWAY_DEMO_NGINX_PORT both name port 2: each needs a port of its own");
    expect(portClash({ ...p, admin: "off" }, true)).toBeNull();
  });

  test("--help lists the steps and the port variables, exit 0", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const s of STEPS) expect(r.out).toContain(s.name);
    for (const v of Object.keys(await demoEnv())) expect(r.out).toContain(v);
  });

  test("every step names configuration that exists, and TLS steps print https commands with --resolve and --cacert", () => {
    for (const s of STEPS) {
      for (const c of s.configs) expect(statSync(join(ROOT, c)).isDirectory()).toBe(true);
      const tries = s.tries({ http: 1, https: 2, admin: "127.0.0.1:3", httpbin: 4, helloworld: 5, nginx: 6 }).map(([c]) => c);
      const tls = s.configs.some((c) => /0[5-8]-/.test(c));
      for (const c of tries.filter((c) => c.startsWith("curl"))) {
        if (tls) expect(c).toMatch(/--resolve \S+:2:127\.0\.0\.1 --cacert config\/certs\/example\.com\.crt https:\/\/\S+:2/);
        else expect(c).toContain("http://127.0.0.1:1");
      }
    }
  });
});

interface Tried {
  cmd: string;
  what: string;
  out: string;
}

/**
 * Start the demo on a step, wait for its banner and readiness, run its commands with
 * bash, stop it, and hand the results to `check`; when `check` (or the demo's exit)
 * fails, the error carries the demo's output and every command's, so a failure far
 * from here (CI prints only the end of its log) says what happened.
 */
async function tryStep(step: string, check: (r: Tried[]) => void): Promise<void> {
  let out = "";
  const results: Tried[] = [];
  try {
    await runStep(step, results, (o) => (out = o));
    check(results);
  } catch (err) {
    const tried = results.map((r) => `$ ${r.cmd}\n${r.out}`).join("\n");
    throw new Error(`${(err as Error).message}\n--- commands:\n${tried}\n--- demo output:\n${out}`);
  }
}

async function runStep(step: string, results: Tried[], report: (out: string) => void): Promise<void> {
  const env = await demoEnv();
  const p = Bun.spawn([process.execPath, "src/demo/main.ts", step, "--workers", "1"], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  let out = "";
  void (async () => {
    for await (const c of p.stderr as ReadableStream<Uint8Array>) report((out += new TextDecoder().decode(c)));
  })();
  void new Response(p.stdout).text();
  let failed: Error | null = null;
  try {
    const end = Date.now() + 20_000;
    for (;;) {
      const ready = await fetch(`http://${env.GANGWAY_DEMO_ADMIN}/ready`).then((r) => r.status, () => 0);
      if (ready === 200 && out.includes("Ctrl-C")) break;
      if (p.exitCode !== null) throw new Error(`the demo exited with ${p.exitCode} before it was ready (admin /ready last answered ${ready || "nothing"})`);
      if (Date.now() > end) throw new Error(`the demo was not ready in 20 s (admin /ready last answered ${ready || "nothing"})`);
      await Bun.sleep(50);
    }
    const lines = out.slice(out.indexOf("Try:")).split("\n").slice(1).filter((l) => l.startsWith("  ") && l.includes("  # "));
    for (const l of lines) {
      const [cmd, what] = l.trim().split(/\s+# /) as [string, string];
      const r = Bun.spawnSync(["bash", "-c", cmd], { cwd: ROOT, env: { ...process.env, PATH: `${process.env.PATH}:${join(ROOT, "node_modules/.bin")}` } });
      results.push({ cmd, what, out: r.stdout.toString() + r.stderr.toString() });
    }
  } catch (err) {
    failed = err as Error;
  }
  // stopped either way; a demo that exited by itself is reported as such above, not as a failed stop
  const running = p.exitCode === null;
  p.kill("SIGTERM");
  const code = await p.exited;
  if (failed !== null) throw failed;
  if (running && code !== 0) throw new Error(`the demo exited with ${code} on SIGTERM`);
}

describe("a step's commands work as printed", () => {
  test.skipIf(!hasCurl)("07-mutual-tls: the teapot with the client certificate, refused without", async () => {
    await tryStep("07-mutual-tls", (r) => {
      expect(r.length).toBe(2);
      expect(r[0]!.out).toContain("teapot");
      expect(r[1]!.out).toMatch(/exit (35|55|56)\n/); // the refusal arrives during or after the handshake, as TLS 1.3 has it
      expect(r[1]!.out).not.toContain("teapot");
    });
  }, 40_000);

  test.skipIf(!hasCurl)("05-tls-simple: the teapot, HTTP/2 by ALPN, an unknown SNI refused", async () => {
    await tryStep("05-tls-simple", (r) => {
      expect(r.map((x) => x.out.trim().split("\n")[0])).toEqual(["-=[ teapot ]=-", "2 200", expect.stringMatching(/^exit (35|56)$/)]);
    });
  }, 40_000);

  test.skipIf(!hasCurl || NGINX_BINARY === null)("08-tls-passthrough: nginx's page and its own certificate through the gateway", async () => {
    await tryStep("08-tls-passthrough", (r) => {
      expect(r.length).toBe(2);
      expect(r[0]!.out).toContain("<title>Welcome to nginx!</title>");
      expect(r[1]!.out).toContain("subject: O=some organization; CN=nginx.example.com");
    });
  }, 40_000);
});

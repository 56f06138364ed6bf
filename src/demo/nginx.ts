// A real nginx (Debian's nginx-light) serving TLS on a loopback port, as the
// walkthrough's my-nginx does: its nginx.conf with paths moved into a temporary
// directory (pid, logs, temp files, certificate), one process (`daemon off;
// master_process off;`), works as root or not. The demo's PASSTHROUGH step and the
// tests (test/helpers/nginx.ts, on a free port) run it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The nginx binary, or null when none is installed (`apt-get install nginx-light`). */
export const NGINX_BINARY: string | null = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"].find((p) => Bun.file(p).size > 0) ?? Bun.which("nginx");
export const NGINX = NGINX_BINARY ?? "nginx";

export interface Nginx {
  port: number;
  dir: string;
  stop(): Promise<void>;
  /** Its error log so far. */
  errors(): string;
}

export interface NginxOptions {
  /** Loopback port to listen on. */
  port: number;
  serverName: string;
  cert: string;
  key: string;
  /** Extra lines inside the server block. */
  extra?: string;
}

/** Start nginx; resolves once it accepts connections. */
export async function startNginx(o: NginxOptions): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), "gangway-nginx-"));
  const port = o.port;
  writeFileSync(join(dir, "tls.crt"), o.cert);
  writeFileSync(join(dir, "tls.key"), o.key);
  // the walkthrough's nginx.conf, with the paths a non-root test can write
  const conf = `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events {
}
http {
  log_format main '$remote_addr - $remote_user [$time_local]  $status '
  '"$request" $body_bytes_sent "$http_referer" '
  '"$http_user_agent" "$http_x_forwarded_for"';
  access_log ${dir}/access.log main;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    root /usr/share/nginx/html;
    index index.html;
    server_name ${o.serverName};
    ssl_certificate ${dir}/tls.crt;
    ssl_certificate_key ${dir}/tls.key;
    ${o.extra ?? ""}
  }
}
`;
  writeFileSync(join(dir, "nginx.conf"), conf);
  const proc = Bun.spawn([NGINX, "-p", dir, "-e", join(dir, "error.log"), "-c", join(dir, "nginx.conf")], {
    stdout: "ignore",
    stderr: "pipe",
    stdin: "ignore",
  });
  const errors = () => {
    try {
      return readFileSync(join(dir, "error.log"), "utf8");
    } catch {
      return "";
    }
  };
  const end = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) {
      const stderr = await new Response(proc.stderr as ReadableStream).text();
      throw new Error(`nginx exited with ${proc.exitCode}: ${stderr}${errors()}`);
    }
    const up = await new Promise<boolean>((resolve) => {
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open(s) {
            s.end();
            resolve(true);
          },
          connectError() {
            resolve(false);
          },
          data() {},
        },
      }).catch(() => resolve(false));
    });
    if (up) break;
    if (Date.now() > end) {
      proc.kill("SIGKILL");
      throw new Error(`nginx did not listen in 10 s: ${errors()}`);
    }
    await Bun.sleep(20);
  }
  return {
    port,
    dir,
    errors,
    async stop() {
      proc.kill("SIGQUIT");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A real nginx for the tests, on a free loopback port (src/demo/nginx.ts runs it).
import { startNginx as start, type Nginx, type NginxOptions } from "../../src/demo/nginx.ts";
import { freePort } from "./gateway.ts";

export { NGINX, type Nginx } from "../../src/demo/nginx.ts";

/** Start nginx on a free port; resolves once it accepts connections. */
export async function startNginx(o: Omit<NginxOptions, "port">): Promise<Nginx> {
  return start({ ...o, port: await freePort() });
}

// `gateway proxy-config listeners|routes|clusters|endpoints|secrets`, from
// `--config DIR` offline or from a running gateway's `--admin HOST:PORT`.
import { UsageError, type Options } from "./args.ts";
import { table } from "./table.ts";
import { formatFinding, loadAndBuild } from "../primary/pipeline.ts";
import { snapshotToJSON } from "../snapshot/dump.ts";

type Obj = Record<string, any>;
const KINDS = ["listeners", "listener", "routes", "route", "clusters", "cluster", "endpoints", "endpoint", "secrets", "secret"];

async function dump(o: Options, adminGiven: boolean): Promise<Obj> {
  if (o.configDirs.length > 0) {
    const built = loadAndBuild(o, 1);
    if (!built.ok) {
      for (const e of built.errors) process.stderr.write(formatFinding(e) + "\n");
      throw new Error("the configuration does not load");
    }
    return snapshotToJSON(built.snapshot) as Obj;
  }
  if (!adminGiven || o.admin === null) throw new UsageError("proxy-config needs --config DIR or --admin HOST:PORT");
  const base = `http://${o.admin.host.includes(":") ? `[${o.admin.host}]` : o.admin.host}:${o.admin.port}`;
  const r = await fetch(`${base}/config_dump`);
  if (!r.ok) throw new Error(`admin answered ${r.status}`);
  const d = (await r.json()) as Obj;
  // outlier ejections live in the workers: their gauge says which endpoints are ejected, and in how many workers
  const m = await fetch(`${base}/stats/prometheus`).then((x) => (x.ok ? x.text() : ""), () => "");
  d.ejected = ejectedEndpoints(m);
  return d;
}

/** `cluster|host:port` → number of workers ejecting it, from gangway_upstream_endpoint_ejected. */
export function ejectedEndpoints(metrics: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of metrics.split("\n")) {
    const g = /^gangway_upstream_endpoint_ejected\{cluster="([^"]*)",endpoint="([^"]*)"\} (\d+)/.exec(line);
    if (g !== null && Number(g[3]) > 0) out[`${g[1]}|${g[2]}`] = Number(g[3]);
  }
  return out;
}

function shortMatch(m: Obj): string {
  if (m.uri === undefined) return "/*";
  const [kind, v] = Object.entries(m.uri as Obj)[0]!;
  return kind === "prefix" ? `${v}*` : kind === "regex" ? `~${v}` : String(v);
}

export function render(kind: string, d: Obj): string {
  switch (kind) {
    case "listeners": {
      const rows: (string | number)[][] = [];
      for (const l of d.listeners as Obj[]) {
        const chains = (l.filterChains ?? l.tls?.chains ?? []) as Obj[];
        if (chains.length === 0) {
          const dest = l.routeTable !== null ? `Route: ${l.routeTable}` : (l.tcpRoutes ?? []).length > 0 ? "TCP" : "-";
          rows.push([l.bindAddress, l.bindPort, l.port, l.protocol, "ALL", dest]);
          continue;
        }
        for (const c of chains) {
          const dest = c.disabled ? `(disabled: ${c.disabled})` : c.routeTable ? `Route: ${c.routeTable}` : c.mode;
          rows.push([l.bindAddress, l.bindPort, l.port, l.protocol, `SNI: ${(c.serverNames as string[]).join(",")}`, dest]);
        }
      }
      return table(["ADDRESSES", "PORT", "GATEWAY PORT", "PROTOCOL", "MATCH", "DESTINATION"], rows);
    }
    case "routes": {
      const rows: (string | number)[][] = [];
      for (const rt of d.routes as Obj[]) {
        for (const vh of rt.virtualHosts as Obj[]) {
          if ((vh.routes as Obj[]).length === 0) rows.push([rt.name, vh.name, vh.domains.join(","), "-", "-"]);
          for (const r of vh.routes as Obj[]) {
            const match = (r.match as Obj[]).length === 0 ? "/*" : (r.match as Obj[]).map(shortMatch).join(",");
            rows.push([rt.name, vh.name, vh.domains.join(","), match, r.source.replace(/^VirtualService\/([^/]+)\/(.+)$/, "$2.$1")]);
          }
        }
      }
      return table(["NAME", "VHOST NAME", "DOMAINS", "MATCH", "VIRTUAL SERVICE"], rows);
    }
    case "clusters":
      return table(
        ["SERVICE FQDN", "PORT", "SUBSET", "DIRECTION", "TYPE", "DESTINATION RULE"],
        Object.values(d.clusters as Obj).map((c: Obj) => [c.serviceHost, c.port, c.subset || "-", "outbound", c.type, c.destinationRule ?? "-"]),
      );
    case "endpoints": {
      const rows: (string | number)[][] = [];
      const ejected = (d.ejected ?? {}) as Record<string, number>;
      const clusters = Object.values(d.clusters as Obj) as Obj[];
      // LOCALITY and PRIORITY columns only where some endpoint has a locality (the table stays istioctl's otherwise)
      const withLocality = clusters.some((c) => (c.endpoints as Obj[]).some((e) => e.locality !== undefined || e.priority !== undefined));
      for (const c of clusters) {
        for (const e of c.endpoints as Obj[]) {
          const hp = String(e.address).includes(":") ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
          const n = ejected[`${c.name}|${hp}`] ?? 0;
          const row: (string | number)[] = [hp, n > 0 ? "OUTLIER" : "HEALTHY", n > 0 ? `FAILED (ejected in ${n} worker${n === 1 ? "" : "s"})` : "OK", c.name];
          if (withLocality) row.push(String(e.locality ?? "-"), Number(e.priority ?? 0));
          rows.push(row);
        }
      }
      return table(["ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER", ...(withLocality ? ["LOCALITY", "PRIORITY"] : [])], rows);
    }
    case "secrets": {
      const creds = (d.credentials ?? {}) as Obj;
      return table(
        ["RESOURCE NAME", "TYPE", "STATUS", "VALID CERT", "SERIAL NUMBER", "NOT AFTER", "NOT BEFORE"],
        Object.values(creds).map((c: Obj) => {
          const leaf = (c.chain as Obj[])[0] ?? (c.ca as Obj[])[0] ?? {};
          const valid = leaf.notAfter !== undefined && Date.parse(leaf.notAfter) > Date.now();
          // a CA named apart from a Secret credential keeps its own resource name (configmap://ns/name-cacert)
          const name = String(c.name);
          return [name.includes("://") ? name : `kubernetes://${name}`, c.certChain ? "Cert Chain" : "CA", "ACTIVE", String(valid), leaf.serial ?? "-", leaf.notAfter ?? "-", leaf.notBefore ?? "-"];
        }),
      );
    }
  }
  throw new UsageError(`proxy-config: unknown kind ${kind}`);
}

export async function proxyConfigCommand(o: Options): Promise<number> {
  let kind = o.positional[0];
  if (kind === undefined || !KINDS.includes(kind)) throw new UsageError("proxy-config: expected listeners|routes|clusters|endpoints|secrets");
  if (!kind.endsWith("s")) kind += "s";
  const adminGiven = process.argv.some((a) => a === "--admin" || a.startsWith("--admin="));
  let d: Obj;
  try {
    d = await dump(o, adminGiven);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    process.stderr.write(`proxy-config: ${(err as Error).message}\n`);
    return 1;
  }
  const format = o.extra.get("-o")?.at(-1) ?? "table";
  if (format === "json") {
    const part = kind === "endpoints" ? d.clusters : kind === "secrets" ? (d.credentials ?? {}) : d[kind];
    process.stdout.write(JSON.stringify(part, null, 2) + "\n");
  } else {
    process.stdout.write(render(kind, d));
  }
  return 0;
}

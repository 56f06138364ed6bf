// ServiceEntry endpoints as Istio's webhook validates them (ValidateServiceEntry:
// a STATIC endpoint is an IP address or a Unix socket, a DNS one an IP address or
// a host name, endpoint port names are the ServiceEntry's), and Unix socket
// endpoints, which gangway does not connect to: left out with a Warning. Found by
// the configuration fuzz (test/helpers/config-mutate-kinds.ts): a STATIC endpoint
// `backend.example.org` was taken and resolved by DNS; a `unix://` one was taken
// and every connection to it failed, with no finding.
import { describe, expect, test } from "bun:test";
import { buildFiles } from "../helpers/config-invariants.ts";
import { formatFinding } from "../../src/primary/pipeline.ts";

const APP = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: ["*"]
  gateways: [istio-system/gw]
  http: [{route: [{destination: {host: ext.example, port: {number: 8080}}}]}]
`;
const serviceEntry = (resolution: string, endpoints: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [ext.example]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: ${resolution}
  endpoints: ${endpoints}
`;

const ROWS: { name: string; resolution: string; endpoints: string; ok: boolean; findings: string[] }[] = [
  { name: "STATIC: an IP address", resolution: "STATIC", endpoints: "[{address: 10.0.0.1}, {address: '::1'}]", ok: true, findings: [] },
  { name: "STATIC: a host name is refused, as Istio's webhook", resolution: "STATIC", endpoints: "[{address: backend.example.org}]", ok: false, findings: ['Error: se.yaml: document 0: ServiceEntry/default/ext: spec.endpoints[0].address: endpoint address "backend.example.org" is not a valid IP address (resolution STATIC) [GW0106]'] },
  { name: "DNS: a host name (either case) or an IP address", resolution: "DNS", endpoints: "[{address: Backend.example.org.}, {address: 10.0.0.1}]", ok: true, findings: [] },
  { name: "DNS: a name with an underscore is refused", resolution: "DNS", endpoints: "[{address: bad_name.example}]", ok: false, findings: ['Error: se.yaml: document 0: ServiceEntry/default/ext: spec.endpoints[0].address: endpoint address "bad_name.example" is not a valid FQDN or an IP address [GW0106]'] },
  { name: "DNS: an all-numeric top-level label is refused (no IP, no name)", resolution: "DNS", endpoints: "[{address: 10.0.0}]", ok: false, findings: ['Error: se.yaml: document 0: ServiceEntry/default/ext: spec.endpoints[0].address: endpoint address "10.0.0" is not a valid FQDN or an IP address [GW0106]'] },
  { name: "an endpoint port name the ServiceEntry does not have is refused", resolution: "STATIC", endpoints: "[{address: 10.0.0.1, ports: {nope: 9080}}]", ok: false, findings: ['Error: se.yaml: document 0: ServiceEntry/default/ext: spec.endpoints[0].ports.nope: endpoint port nope is not defined by the service entry (its ports are named "http") [GW0106]'] },
  {
    name: "STATIC: a Unix socket is left out with a Warning, the other endpoint kept",
    resolution: "STATIC",
    endpoints: "[{address: 10.0.0.1}, {address: 'unix:///var/run/ext.sock'}]",
    ok: true,
    findings: ["Warning: se.yaml: document 0: ServiceEntry/default/ext: spec.endpoints[1].address: endpoint unix:///var/run/ext.sock is a Unix domain socket, which gangway does not connect to (it connects over TCP): left out of outbound|8080||ext.example [GW0407]"],
  },
];

describe("ServiceEntry endpoints", () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const b = buildFiles([{ path: "app.yaml", text: APP }, { path: "se.yaml", text: serviceEntry(row.resolution, row.endpoints) }]);
      expect(b.ok).toBe(row.ok);
      expect((b.ok ? b.snapshot.findings : b.errors).map(formatFinding)).toEqual(row.findings);
      if (b.ok) expect(b.snapshot.clusters.get("outbound|8080||ext.example")!.endpoints.every((e) => !e.address.startsWith("unix://"))).toBe(true);
    });
  }

  test("a WorkloadEntry at a Unix socket, picked by a workloadSelector: left out, the Warning names the WorkloadEntry's address", () => {
    const se = serviceEntry("STATIC", "[]").replace("  endpoints: []\n", "  workloadSelector: {labels: {app: ext}}\n");
    const we = "apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: w}\nspec: {address: 'unix:///var/run/w.sock', labels: {app: ext}}\n";
    const b = buildFiles([{ path: "app.yaml", text: APP }, { path: "se.yaml", text: `${se}---\n${we}` }]);
    expect(b.ok).toBe(true);
    const lines = (b as { snapshot: { findings: Parameters<typeof formatFinding>[0][] } }).snapshot.findings.map(formatFinding);
    expect(lines).toContain("Warning: se.yaml: document 1: WorkloadEntry/default/w: spec.address: endpoint unix:///var/run/w.sock is a Unix domain socket, which gangway does not connect to (it connects over TCP): left out of outbound|8080||ext.example [GW0407]");
    expect(lines).toContain("Warning: se.yaml: document 0: ServiceEntry/default/ext: cluster outbound|8080||ext.example: no endpoint: requests get 503 [GW0405]");
  });
});

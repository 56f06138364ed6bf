// The addresses gangway's traffic listeners can be reached on, best first: what a Gateway API
// Gateway reports in `status.addresses` when the files hold no Service for it (istiod reports
// the Service's; compile/gatewayapi/addresses.ts). Pure: the environment and the interfaces
// are arguments (the interfaces asked only when needed); `hostListenAddresses` reads this
// process's.
//
// - `--bind` a specific address: that address alone, the only one the listeners take.
// - `--bind` a wildcard: INSTANCE_IP, else POD_IP (the pod IP Istio's gateway pod is given,
//   `status.podIP`), then the entries of INSTANCE_IPS (comma separated: a dual-stack pod's
//   `status.podIPs`) not listed yet; none of them: the machine's non-internal interface
//   addresses (IPv4 first; IPv6 link-local ones left out: they need a zone to be reached),
//   else 127.0.0.1. A 0.0.0.0 listener takes IPv4 only, so IPv6 candidates count only for
//   `::` (dual-stack). Istio's pilot-agent builds its node's INSTANCE_IPS the same way: the
//   pod IP (INSTANCE_IP) first, as istiod takes the first for the pod's, then the others
//   (it finds those on the interfaces; it reads no INSTANCE_IPS variable).
import { isIP } from "node:net";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";

/** The environment variables naming the pod IP, the first that is usable taken. */
export const ADDRESS_ENV = ["INSTANCE_IP", "POD_IP"] as const;
/** The environment variable listing the pod's IPs (comma separated), after the pod IP. */
export const ADDRESSES_ENV = "INSTANCE_IPS";

/** 0.0.0.0 or an all-zero IPv6 address (`::`, `0:0:0:0:0:0:0:0`). */
export function isWildcard(bind: string): boolean {
  const v = isIP(bind);
  return (v === 4 && bind === "0.0.0.0") || (v === 6 && /^[0:]+$/.test(bind));
}

function isLinkLocal6(address: string): boolean {
  return /^fe[89ab]/i.test(address);
}

type Interfaces = Record<string, NetworkInterfaceInfo[] | undefined>;

/**
 * `bind`: the `--bind` address; `env`: the process environment; `interfaces`: as
 * `os.networkInterfaces()` gives them, called only when neither the bind nor the
 * environment gives the address. Never empty.
 */
export function listenAddresses(bind: string, env: Record<string, string | undefined>, interfaces: () => Interfaces): string[] {
  if (isIP(bind) !== 0 && !isWildcard(bind)) return [bind];
  const v6 = isIP(bind) === 6;
  // an address a connection can be made to, of a family the listener takes
  const usable = (a: string): boolean => (isIP(a) === 4 || (isIP(a) === 6 && v6)) && !isWildcard(a);
  const given: string[] = [];
  for (const name of ADDRESS_ENV) {
    const value = env[name]?.trim() ?? "";
    if (usable(value)) {
      given.push(value);
      break;
    }
  }
  for (const entry of (env[ADDRESSES_ENV] ?? "").split(",")) {
    const value = entry.trim();
    if (usable(value) && !given.includes(value)) given.push(value);
  }
  if (given.length > 0) return given;
  const four: string[] = [];
  const six: string[] = [];
  for (const infos of Object.values(interfaces())) {
    for (const i of infos ?? []) {
      if (i.internal || !usable(i.address)) continue;
      if (isIP(i.address) === 4) four.push(i.address);
      else if (!isLinkLocal6(i.address)) six.push(i.address);
    }
  }
  const found = [...new Set([...four, ...six])];
  return found.length > 0 ? found : ["127.0.0.1"];
}

let known: Interfaces = {};

/** The machine's interfaces now; the last ones read when they cannot be (getifaddrs needs a socket: out of descriptors). */
function machineInterfaces(): Interfaces {
  try {
    known = networkInterfaces();
  } catch {
    // a load must not fail for a status address: keep the last list
  }
  return known;
}

/** This process's: its environment and the machine's interfaces now. */
export function hostListenAddresses(bind: string): string[] {
  return listenAddresses(bind, process.env, machineInterfaces);
}

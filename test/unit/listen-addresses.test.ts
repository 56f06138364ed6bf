// listen-addresses.ts: where gangway's listeners can be reached, best first (a Gateway's
// status.addresses when there is no Service for it): --bind, else INSTANCE_IP / POD_IP
// then INSTANCE_IPS, else the non-internal interface addresses of the listener's family, else 127.0.0.1.
import { describe, expect, test } from "bun:test";
import type { NetworkInterfaceInfo } from "node:os";
import { hostListenAddresses, isWildcard, listenAddresses } from "../../src/primary/listen-addresses.ts";

const nic = (address: string, internal = false): NetworkInterfaceInfo =>
  (address.includes(":")
    ? { address, family: "IPv6", internal, netmask: "ffff:ffff:ffff:ffff::", mac: "02:00:00:00:00:01", cidr: `${address}/64`, scopeid: 0 }
    : { address, family: "IPv4", internal, netmask: "255.255.255.0", mac: "02:00:00:00:00:01", cidr: `${address}/24` });
const LO = { lo: [nic("127.0.0.1", true), nic("::1", true)] };
const HOST = { ...LO, eth0: [nic("fd00::2"), nic("fe80::fc:ff:fe00:1"), nic("192.0.2.2")], eth1: [nic("198.51.100.7")] };

describe("listenAddresses", () => {
  const cases: [string, string, Record<string, string | undefined>, Record<string, NetworkInterfaceInfo[]>, string[]][] = [
    ["a specific IPv4 bind is the only address", "127.0.0.2", { INSTANCE_IP: "10.1.2.3" }, HOST, ["127.0.0.2"]],
    ["a specific IPv6 bind is the only address", "fd00::9", { INSTANCE_IP: "10.1.2.3" }, HOST, ["fd00::9"]],
    ["wildcard: INSTANCE_IP (the pod IP Istio's gateway pod sees)", "0.0.0.0", { INSTANCE_IP: "10.1.2.3", POD_IP: "10.9.9.9" }, HOST, ["10.1.2.3"]],
    ["wildcard: POD_IP when INSTANCE_IP is not set", "0.0.0.0", { POD_IP: " 10.9.9.9 " }, HOST, ["10.9.9.9"]],
    ["wildcard: an INSTANCE_IP that is no IP is passed over", "0.0.0.0", { INSTANCE_IP: "pod-ip", POD_IP: "10.9.9.9" }, HOST, ["10.9.9.9"]],
    ["wildcard: an env IP that is itself a wildcard is passed over", "0.0.0.0", { INSTANCE_IP: "0.0.0.0" }, HOST, ["192.0.2.2", "198.51.100.7"]],
    ["0.0.0.0 takes IPv4 only: an IPv6 INSTANCE_IP is passed over", "0.0.0.0", { INSTANCE_IP: "fd00::5" }, HOST, ["192.0.2.2", "198.51.100.7"]],
    [":: is dual-stack: an IPv6 INSTANCE_IP counts", "::", { INSTANCE_IP: "fd00::5" }, HOST, ["fd00::5"]],
    // INSTANCE_IPS: a dual-stack pod's status.podIPs, after the pod IP (pilot-agent's INSTANCE_IPS order)
    [":: with INSTANCE_IPS: both families, in its order", "::", { INSTANCE_IPS: "10.1.2.3,fd00::5" }, HOST, ["10.1.2.3", "fd00::5"]],
    [":: INSTANCE_IP first, then the INSTANCE_IPS it does not repeat", "::", { INSTANCE_IP: "fd00::5", INSTANCE_IPS: "10.1.2.3, fd00::5" }, HOST, ["fd00::5", "10.1.2.3"]],
    [":: POD_IP first when INSTANCE_IP is not set", "::", { POD_IP: "10.9.9.9", INSTANCE_IPS: "fd00::5,10.9.9.9" }, HOST, ["10.9.9.9", "fd00::5"]],
    ["0.0.0.0 takes the IPv4 entries of INSTANCE_IPS only", "0.0.0.0", { INSTANCE_IPS: "fd00::5,10.1.2.3,10.1.2.4" }, HOST, ["10.1.2.3", "10.1.2.4"]],
    ["INSTANCE_IPS entries that are no IP, wildcards or empty are passed over", "::", { INSTANCE_IPS: " ,pod,0.0.0.0,::,fd00::5,," }, HOST, ["fd00::5"]],
    ["0.0.0.0 with an IPv6-only INSTANCE_IPS: the interfaces", "0.0.0.0", { INSTANCE_IPS: "fd00::5" }, HOST, ["192.0.2.2", "198.51.100.7"]],
    ["0.0.0.0: the non-internal IPv4 interface addresses, in interface order", "0.0.0.0", {}, HOST, ["192.0.2.2", "198.51.100.7"]],
    [":: : IPv4 first, then IPv6 without link-local ones", "::", {}, HOST, ["192.0.2.2", "198.51.100.7", "fd00::2"]],
    ["0:0:0:0:0:0:0:0 is the IPv6 wildcard too", "0:0:0:0:0:0:0:0", {}, HOST, ["192.0.2.2", "198.51.100.7", "fd00::2"]],
    ["an address on two interfaces once", "0.0.0.0", {}, { a: [nic("192.0.2.2")], b: [nic("192.0.2.2")] }, ["192.0.2.2"]],
    ["only loopback interfaces: 127.0.0.1", "0.0.0.0", {}, LO, ["127.0.0.1"]],
    ["0.0.0.0 with IPv6 interfaces only: 127.0.0.1", "0.0.0.0", {}, { ...LO, eth0: [nic("fd00::2")] }, ["127.0.0.1"]],
    ["no interfaces at all: 127.0.0.1", "::", {}, {}, ["127.0.0.1"]],
  ];
  for (const [name, bind, env, ifaces, want] of cases) {
    test(name, () => expect(listenAddresses(bind, env, () => ifaces)).toEqual(want));
  }

  test("the interfaces are not asked when the bind or the environment gives the address (getifaddrs needs a descriptor)", () => {
    const never = (): Record<string, NetworkInterfaceInfo[]> => {
      throw new Error("getifaddrs returned an error");
    };
    expect(listenAddresses("127.0.0.2", {}, never)).toEqual(["127.0.0.2"]);
    expect(listenAddresses("0.0.0.0", { INSTANCE_IP: "10.1.2.3" }, never)).toEqual(["10.1.2.3"]);
    expect(listenAddresses("::", { INSTANCE_IPS: "10.1.2.3,fd00::5" }, never)).toEqual(["10.1.2.3", "fd00::5"]);
    expect(() => listenAddresses("0.0.0.0", {}, never)).toThrow("getifaddrs");
  });

  test("wildcards: 0.0.0.0 and all-zero IPv6 spellings; nothing else", () => {
    expect(["0.0.0.0", "::", "::0", "0::0", "0:0:0:0:0:0:0:0"].map(isWildcard)).toEqual([true, true, true, true, true]);
    expect(["127.0.0.1", "::1", "10.0.0.0", "0.0.0.1", "", "pod"].map(isWildcard)).toEqual([false, false, false, false, false, false]);
  });

  test("this process: a specific bind is that address whatever the machine; a wildcard gives at least one IP", () => {
    expect(hostListenAddresses("127.0.0.3")).toEqual(["127.0.0.3"]);
    const any = hostListenAddresses("0.0.0.0");
    expect(any.length).toBeGreaterThan(0);
    for (const a of any) expect(a).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });
});

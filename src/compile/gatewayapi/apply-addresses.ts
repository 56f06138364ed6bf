// The address verdict (addresses.ts) applied to the served Gateways' and ListenerSets'
// conditions and `status.addresses`, once the ListenerSets are merged: the ports judged are
// those istiod builds servers for.
import { Codes } from "../../model/codes.ts";
import type { ServiceResource } from "../../model/kube.ts";
import type { CompileContext } from "../context.ts";
import { isManaged, judgeAddresses, listenerAddresses } from "./addresses.ts";
import type { ServedGateway, ServedListener } from "./gateways.ts";
import type { ServedListenerSet } from "./listenersets.ts";
import { cond } from "./status.ts";

/**
 * A listener istiod builds a server for, whose port then counts for the addresses: all but a
 * conflicted one and an HTTPS/TLS one without `tls` (a placeholder), valid or not.
 */
function built(l: ServedListener): boolean {
  if (l.status.conditions.some((c) => c.type === "Conflicted" && c.status === "True")) return false;
  return !((l.spec.protocol === "HTTPS" || l.spec.protocol === "TLS") && l.spec.tls === null);
}

/**
 * The address verdict on each served Gateway's conditions (`Accepted`, `Programmed`: first and
 * second) and `addresses`; the ports are those of the listeners it builds and its ListenerSets' programmed ones.
 */
export function applyAddresses(ctx: CompileContext, served: ServedGateway[], sets: ServedListenerSet[], services: ServiceResource[]): void {
  for (const ls of sets) if (ls.allowed) ls.address = judgeAddresses(ls.parent.gateway, services, ls.listeners.filter(built).map((l) => l.spec.port));
  for (const s of served) {
    const g = s.gateway;
    // istiod's servers: the Gateway's listeners it builds, and its ListenerSets' programmed ones
    const ports = [...s.listeners.filter(built), ...(s.merged ?? []).filter((l) => l.owner !== g && l.ready)].map((l) => l.spec.port);
    const v = judgeAddresses(g, services, ports);
    const programmed = s.conditions[1];
    if (v.rejected !== null) {
      s.conditions[0] = cond("Accepted", false, v.rejected.reason, v.rejected.message);
      const what = v.unserved ? "no address to assign it to: not served" : "its listeners are still served";
      ctx.report(v.unserved ? "Error" : "Warning", Codes.GatewayAddress, g, `${v.rejected.message} (UnsupportedAddress): ${what}`, "spec.addresses");
    }
    if (v.notProgrammed !== null) {
      s.conditions[1] = cond("Programmed", false, v.notProgrammed.reason, v.notProgrammed.message);
      if (!v.unserved) ctx.report("Warning", Codes.GatewayAddress, g, `${v.notProgrammed.message} (${v.notProgrammed.reason})`, "spec.addresses");
    } else if (programmed !== undefined && programmed.status === "True" && v.assigned !== "") {
      s.conditions[1] = cond("Programmed", true, "Programmed", v.assigned);
    }
    // no Service in the files: where gangway listens (the requested IP alone when it is one of them)
    const listen = ctx.opts.listenAddresses;
    const fallback = v.serviceless && listen !== undefined && listen.length > 0 ? listenerAddresses(g, listen) : [];
    const ip = g.spec.addresses?.[0];
    if (isManaged(g) && ip !== undefined && ip.value !== "") {
      let where = "the address is the one of the Service in front of it";
      if (fallback.length > 0) where = fallback.some((a) => a.value === ip.value) ? "none is in the files and gangway listens on it: the status address" : "none is in the files and gangway does not listen on it: the status addresses are where it does";
      ctx.report("Info", Codes.GatewayAddress, g, `address ${ip.value}: istiod asks the Service it generates for it; gangway generates no Service: ${where}`, "spec.addresses[0]");
    }
    if (v.addresses.length > 0) s.addresses = v.addresses;
    else if (fallback.length > 0) s.addresses = fallback;
  }
}

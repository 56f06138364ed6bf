// The address verdict (addresses.ts) applied to the served Gateways' conditions and
// `status.addresses`, once the ListenerSets are merged.
import { Codes } from "../../model/codes.ts";
import type { ServiceResource } from "../../model/kube.ts";
import type { CompileContext } from "../context.ts";
import { isManaged, judgeAddresses } from "./addresses.ts";
import type { ServedGateway } from "./gateways.ts";
import { cond } from "./status.ts";

/**
 * The address verdict on each served Gateway's conditions (`Accepted`, `Programmed`: first and
 * second) and `addresses`; the ports are those of its programmed listeners and its ListenerSets'.
 */
export function applyAddresses(ctx: CompileContext, served: ServedGateway[], services: ServiceResource[]): void {
  for (const s of served) {
    const g = s.gateway;
    const ports = (s.merged ?? s.listeners).filter((l) => l.ready).map((l) => l.spec.port);
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
    const ip = g.spec.addresses?.[0];
    if (isManaged(g) && ip !== undefined && ip.value !== "") {
      ctx.report("Info", Codes.GatewayAddress, g, `address ${ip.value}: istiod asks the Service it generates for it; gangway generates no Service: the address is the one of the Service in front of it`, "spec.addresses[0]");
    }
    if (v.addresses.length > 0) s.addresses = v.addresses;
  }
}

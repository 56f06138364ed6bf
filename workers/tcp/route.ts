// TCP route choice by SNI and the weighted destination pick, as the workers
// run them (src/dispatch/dispatch.ts, dispatchTcp): kept for tests that pin
// the two steps separately.
import { pickWeighted } from "../../src/dispatch/dispatch.ts";
import { selectVirtualHost } from "../../src/route/lookup.ts";
import type { TcpRoute, TcpRouteTable, WeightedDestination } from "../../src/snapshot/types.ts";

/** The route serving `sni` (lower case, "" when none was sent), or null. */
export function selectTcpRoute(t: TcpRouteTable, sni: string): TcpRoute | null {
  const i = selectVirtualHost(t, sni);
  return i < 0 ? null : t.routes[i]!;
}

/** A destination of `r` by weight (`random` in [0, 1)), or null when it has none. */
export function pickDestination(r: TcpRoute, random = Math.random()): WeightedDestination | null {
  return pickWeighted(r.destinations, r.totalWeight, () => random);
}

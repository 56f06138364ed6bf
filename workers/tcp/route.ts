// TCP route choice, the lookups the workers run per connection (and tests
// replay): the route for an SNI (exact, longest `*.suffix`, `*`; a TCP
// server's one route is the catch-all, SNI or not), then one of its weighted
// destinations (Envoy's weighted_clusters: random by weight).
import { selectVirtualHost } from "../../src/route/lookup.ts";
import type { TcpRoute, TcpRouteTable, WeightedDestination } from "../../src/snapshot/types.ts";

/** The route serving `sni` (lower case, "" when none was sent), or null. */
export function selectTcpRoute(t: TcpRouteTable, sni: string): TcpRoute | null {
  const i = selectVirtualHost(t, sni);
  return i < 0 ? null : t.routes[i]!;
}

/** A destination of `r` by weight, or null when it has none. */
export function pickDestination(r: TcpRoute, random = Math.random()): WeightedDestination | null {
  const d = r.destinations;
  if (d.length <= 1) return d[0] ?? null;
  let x = random * r.totalWeight;
  for (let i = 0; i < d.length; i++) {
    x -= d[i]!.weight;
    if (x < 0) return d[i]!;
  }
  return d[d.length - 1]!;
}

// Envoy's slow start (DestinationRule loadBalancer.warmup): an endpoint added
// to a ROUND_ROBIN or LEAST_REQUEST cluster gets its weight scaled by a factor
// growing from minWeightPercent to 1 over the window, as Envoy's
// EdfLoadBalancerBase scales a host's weight while the time since it joined
// (healthy) is below slow_start_window. Pure.
import type { SlowStartPolicy } from "../snapshot/upstream.ts";

/**
 * The factor an endpoint's weight is scaled by `elapsedMs` after it was added:
 * 1 once the window is over, else max((t / window)^(1 / aggression),
 * minWeightPercent / 100) with t the whole milliseconds elapsed, at least 1
 * (Envoy's applySlowStartFactor; an aggression that is not above 0 counts as 1).
 */
export function slowStartFactor(p: SlowStartPolicy, elapsedMs: number): number {
  const ms = Math.floor(elapsedMs);
  if (!(ms < p.windowMs)) return 1;
  const t = Math.max(1, ms) / p.windowMs;
  const a = p.aggression > 0 ? p.aggression : 1;
  const f = a === 1 ? t : t ** (1 / a);
  return Math.max(f, p.minWeightPercent / 100);
}

// Configuration applied to a worker under test, its listener on a loopback
// port: YAML compiled as the primary compiles it, or hand-built routes.
import type { Cluster, Snapshot } from "../../src/snapshot/types.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import type { WorkerHarness } from "./harness.ts";
import { freePort, listener, snapshot, virtualHost, type RouteSpec } from "./snapshot-fixture.ts";

/** `yaml` compiled with its port 80 on 127.0.0.1:`port`. */
export function compileOnPort(yaml: string, port: number): Snapshot {
  return compileYaml(yaml, { portMap: new Map([[80, port]]), bindAddress: "127.0.0.1" });
}

/** Applies `yaml` to `w` with port 80 on a free loopback port; returns that port. */
export async function applyYamlOnFreePort(w: WorkerHarness, yaml: string): Promise<number> {
  const port = freePort();
  await w.apply(compileOnPort(yaml, port));
  return port;
}

/** Applies to `w` one HTTP listener on a free loopback port with `routes` for every host; returns that port. */
export async function applyRoutesOnFreePort(w: WorkerHarness, routes: RouteSpec[], clusters: Cluster[] = []): Promise<number> {
  const port = freePort();
  await w.apply(snapshot([listener(port, [virtualHost(["*"], routes)])], clusters));
  return port;
}

// Configuration compiled as the primary compiles it, for a worker under test:
// the Gateway's port 80 bound to a loopback port.
import type { Snapshot } from "../../src/snapshot/types.ts";
import { compileYaml } from "../unit/pipeline-helpers.ts";
import type { WorkerHarness } from "./harness.ts";
import { freePort } from "./snapshot-fixture.ts";

/** `yaml` compiled with its port 80 on 127.0.0.1:`port`. */
export function compileOnPort(yaml: string, port: number): Snapshot {
  return compileYaml(yaml, { portMap: new Map([[80, port]]), bindAddress: "127.0.0.1" });
}

/** Applies `yaml` to `w` with port 80 on a free loopback port; returns that port. */
export async function applyOnFreePort(w: WorkerHarness, yaml: string): Promise<number> {
  const port = freePort();
  await w.apply(compileOnPort(yaml, port));
  return port;
}

// `gateway status --config DIR [--gateway NS/NAME] [-o yaml|json]`: the status a
// conformant Gateway API controller would write for the Gateways served (all
// of our class, or the --gateway ones) and the routes attached to them, and the
// loadBalancer istiod writes on the Kubernetes Ingresses served. Exit 0
// also when objects are invalid: invalid objects are what status reports.
import { stringify } from "yaml";
import { UsageError, type Options } from "./args.ts";
import { formatFinding, loadAndBuild } from "../primary/pipeline.ts";
import type { StatusItem } from "../snapshot/status.ts";

export function statusDocument(items: StatusItem[]): { items: StatusItem[] } {
  return { items };
}

export function statusCommand(o: Options): number {
  const format = o.extra.get("-o")?.at(-1) ?? "yaml";
  if (format !== "yaml" && format !== "json") throw new UsageError("status: -o is yaml or json");
  const built = loadAndBuild(o, 1);
  if (!built.ok) {
    // the files do not load (YAML or a malformed field): no object has a status to report
    for (const e of built.errors) process.stderr.write(formatFinding(e) + "\n");
    process.stdout.write(format === "json" ? JSON.stringify({ items: [] }, null, 2) + "\n" : stringify({ items: [] }));
    return 0;
  }
  const doc = statusDocument(built.snapshot.gatewayStatus ?? []);
  process.stdout.write(format === "json" ? JSON.stringify(doc, null, 2) + "\n" : stringify(doc));
  return 0;
}

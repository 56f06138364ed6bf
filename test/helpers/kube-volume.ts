// Builds the file layout the kubelet makes for a ConfigMap or Secret volume:
//   dir/..2026_11_25_20_00_00.123/<key>   the data, in a timestamped folder
//   dir/..data -> ..2026_...               swapped atomically on update
//   dir/<key> -> ..data/<key>              what the container reads
import { mkdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";

let counter = 0;

export function writeKubeVolume(dir: string, data: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:T]/g, "_").replace("Z", "")}_${process.pid}_${counter++}`;
  const ts = join(dir, stamp);
  mkdirSync(ts);
  for (const [k, v] of Object.entries(data)) writeFileSync(join(ts, k), v);
  const dataLink = join(dir, "..data");
  const old = existsSync(dataLink) ? readlinkSync(dataLink) : null;
  const tmp = join(dir, "..data_tmp");
  rmSync(tmp, { force: true });
  symlinkSync(stamp, tmp);
  renameSync(tmp, dataLink); // the atomic swap
  for (const k of Object.keys(data)) {
    const link = join(dir, k);
    if (!existsSync(link)) symlinkSync(join("..data", k), link);
  }
  if (old !== null) rmSync(join(dir, old), { recursive: true, force: true });
}

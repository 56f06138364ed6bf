// FileTexts (src/load/read.ts): a primary's reads give an unchanged file its text of
// last time. Every read must equal a read from scratch, whatever the file system did
// in between: same-size writes within one mtime tick (mtime set back too), a
// ConfigMap volume's ..data swap, a file deleted and written again, bytes that are
// not UTF-8, a file whose bytes are a prefix of the last text's encoding.
import { expect, test } from "bun:test";
import { mkdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FileTexts, readInput } from "../../src/load/read.ts";
import { writeTree } from "../helpers/gateway.ts";
import { writeKubeVolume } from "../helpers/kube-volume.ts";

/** Writes `data` to `path` and sets its mtime back to what it was: no stat could tell. */
function writeSameStat(path: string, data: string | Buffer): void {
  const st = statSync(path);
  writeFileSync(path, data);
  utimesSync(path, st.atime, st.mtime);
}

test("every read with FileTexts equals a read from scratch, through changes stat cannot see", () => {
  const dir = writeTree({ "a.yaml": "kind: A\nv: 1\n", "sub/b.yml": "é: ü\n", "c.json": "{}" });
  const secrets = writeTree({ "cred/tls.crt": "C1", "cred/tls.key": "K1" });
  const vol = join(dir, "vol");
  writeKubeVolume(vol, { "gw.yaml": "gw: 1" });
  const texts = new FileTexts();
  const steps: [string, () => void][] = [
    ["nothing", () => {}],
    ["same-size edit, mtime kept", () => writeSameStat(join(dir, "a.yaml"), "kind: A\nv: 2\n")],
    ["again within the tick", () => writeSameStat(join(dir, "a.yaml"), "kind: A\nv: 3\n")],
    ["same-size secret edit", () => writeSameStat(join(secrets, "cred/tls.crt"), "C2")],
    ["..data swap, same size", () => writeKubeVolume(vol, { "gw.yaml": "gw: 2" })],
    ["deleted", () => unlinkSync(join(dir, "c.json"))],
    ["nothing after a delete", () => {}],
    ["written again, same text", () => writeFileSync(join(dir, "c.json"), "{}")],
    ["multi-byte: same bytes count, other characters", () => writeSameStat(join(dir, "sub/b.yml"), "ü: é\n")],
    ["not UTF-8", () => writeSameStat(join(dir, "sub/b.yml"), Buffer.from([0xc3, 0xa9, 0x3a, 0x20, 0xff, 0x0a]))],
    ["back to valid", () => writeSameStat(join(dir, "sub/b.yml"), "é: ü\n")],
    ["a BOM", () => writeFileSync(join(dir, "sub/b.yml"), "\ufeffé: ü\n")],
    // the file's bytes are the first bytes of the last text's encoding ("ab" + half of an emoji)
    ["emoji", () => writeFileSync(join(dir, "a.yaml"), "ab\u{1F600}")],
    ["prefix of the last encoding", () => writeFileSync(join(dir, "a.yaml"), Buffer.from([0x61, 0x62, 0xf0, 0x9f]))],
    ["longer than the last text's encoding, same start", () => writeFileSync(join(dir, "a.yaml"), "ab\u{1F600}\u{1F600}")],
    ["big (past the read buffer)", () => writeFileSync(join(dir, "a.yaml"), "x".repeat(300_000))],
    ["big, one byte changed, mtime kept", () => writeSameStat(join(dir, "a.yaml"), "x".repeat(150_000) + "y" + "x".repeat(149_999))],
    ["empty", () => writeFileSync(join(dir, "a.yaml"), "")],
    ["a folder removed", () => rmSync(join(dir, "sub"), { recursive: true })],
    ["and made again", () => {
      mkdirSync(join(dir, "sub"));
      writeFileSync(join(dir, "sub/b.yml"), "é: ü\n");
    }],
  ];
  for (const [what, change] of steps) {
    change();
    const fresh = readInput([dir], secrets);
    const kept = readInput([dir], secrets, texts);
    expect({ what, files: kept.files, secrets: kept.secrets, errors: kept.errors }).toEqual({ what, files: fresh.files, secrets: fresh.secrets, errors: fresh.errors });
  }
});

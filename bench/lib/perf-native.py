# Summarize a `perf record -g` of a Bun process (see bench/perf-native.sh): the stripped
# bun binary has no symbols and no .eh_frame, so its frames are grouped into functions by
# the int3 padding lld puts between them (start addresses, printed as bun:<vaddr>), and the
# JIT frames are named from JSC's jitdump (BUN_JSC_useJITDump=1), turned into a perf map.
# Usage: python3 perf-native.py jitmap JITDUMP PID  |  python3 perf-native.py report SCRIPT REQUESTS
import collections, mmap, re, struct, subprocess, sys

BUN = None


def jitmap(dump, pid):
    data = open(dump, "rb").read()
    hsize = struct.unpack_from("<I", data, 8)[0]
    off, out = hsize, []
    while off + 16 <= len(data):
        rid, size, _ = struct.unpack_from("<IIQ", data, off)
        if size == 0:
            break
        if rid == 0:  # JIT_CODE_LOAD
            _, _, _, addr, csize, _ = struct.unpack_from("<IIQQQQ", data, off + 16)
            nend = data.index(b"\0", off + 56)
            out.append("%x %x %s" % (addr, csize, data[off + 56 : nend].decode("utf8", "replace")))
        off += size
    open("/tmp/perf-%s.map" % pid, "w").write("\n".join(out) + "\n")


class Bin:
    def __init__(self, path):
        f = open(path, "rb")
        self.mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        for line in subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True).stdout.splitlines():
            m = re.match(r"\s*\[\s*\d+\]\s+\.text\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
            if m:
                self.va, self.off, self.size = (int(x, 16) for x in m.groups())
        self.cache = {}

    def start(self, off):  # perf prints file offsets for this non-PIE binary
        if off in self.cache:
            return self.cache[off]
        p = off & ~15
        while p > self.off and not (self.mm[p - 1] == 0xCC and self.mm[p] != 0xCC):
            p -= 16
        self.cache[off] = p
        return p

    def name(self, off):
        if self.off <= off < self.off + self.size:
            return "bun:%x" % (self.start(off) - self.off + self.va)
        return "bun?%x" % off


def samples(path):
    cur = []
    for line in open(path):
        line = line.rstrip("\n")
        if not line.strip():
            if cur:
                yield cur
            cur = []
            continue
        m = re.match(r"\s*([0-9a-f]+) (.*) \((.*)\)$", line)
        if m:
            cur.append((int(m.group(1), 16), m.group(2), m.group(3)))
    if cur:
        yield cur


def frame(f):
    global BUN
    a, sym, dso = f
    if dso.endswith("bun.exe") or dso.endswith("/bun"):
        if BUN is None:
            BUN = Bin(dso)
        return BUN.name(a)
    if "kallsyms" in dso:
        return "K"
    if dso.endswith(".map"):
        return "JS:" + sym.split(": ", 1)[-1].split("#")[0]
    return sym + "@" + dso.split("/")[-1]


def report(script, reqs):
    us = 500.0 / reqs  # perf record -F 1999: one sample ~ 500 us of CPU
    cat, inner, host, hostby, selfn = collections.Counter(), collections.Counter(), collections.Counter(), collections.defaultdict(collections.Counter), collections.Counter()
    n = 0
    for st in samples(script):
        n += 1
        nm = [frame(f) for f in st]
        js = next((i for i, x in enumerate(nm) if x.startswith("JS:")), -1)
        if js >= 0:
            cat["JS and what it calls"] += 1
            inner[nm[js]] += 1
            if js > 0:
                host[nm[js - 1]] += 1
                hostby[nm[js - 1]][nm[js]] += 1
        elif nm[0] == "K":
            cat["kernel (no JS frame seen)"] += 1
        else:
            cat["native, no JS (event loop, uSockets)"] += 1
        if nm[0] != "K":
            selfn[nm[0]] += 1
    print("samples %d, us/request: total %.2f" % (n, n * us))
    for k, v in cat.most_common():
        print("  %-40s %.2f" % (k, v * us))
    print("innermost JS function (its own time + natives it calls), us/request:")
    for k, v in inner.most_common(20):
        print("  %-40s %.3f" % (k, v * us))
    print("natives called from JS, us/request (callers):")
    for k, v in host.most_common(15):
        print("  %-28s %.3f  %s" % (k, v * us, ", ".join("%s %d" % kv for kv in hostby[k].most_common(4))))
    print("self time, user space, us/request:")
    for k, v in selfn.most_common(15):
        print("  %-40s %.3f" % (k, v * us))


if __name__ == "__main__":
    if sys.argv[1] == "jitmap":
        jitmap(sys.argv[2], sys.argv[3])
    else:
        report(sys.argv[2], float(sys.argv[3]))

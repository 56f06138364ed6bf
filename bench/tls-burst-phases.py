#!/usr/bin/env python3
# Reads a loopback capture of a TLS burst (bench/tls-burst.sh CAPTURE=dir) and says, for the
# connections whose handshake took long, which side held it: per connection (client port)
#   syn      client SYN (count: SYN retransmissions)
#   synack   server SYN-ACK (the kernel: connection queued for accept)
#   hello    first client bytes (ClientHello)             hello - synack : the client's delay
#   srv1     first server bytes (ServerHello ... Finished) srv1 - hello   : the server's delay
#   cli2     next client bytes (client Finished + request) cli2 - srv1    : the client's delay
#   sclose   the server's FIN or RST, if before srv1 (a refused/timed-out hello)
# Usage: python3 bench/tls-burst-phases.py FILE.pcap SERVER_PORT [slow_ms=1000]
import subprocess, sys, statistics

path, sport = sys.argv[1], sys.argv[2]
slow = float(sys.argv[3]) if len(sys.argv) > 3 else 1000.0
out = subprocess.run(["tcpdump", "-r", path, "-ttnn"], capture_output=True, text=True).stdout
conns = {}
for line in out.splitlines():
    f = line.split()
    if len(f) < 6 or f[1] != "IP":
        continue
    t = float(f[0]) * 1000
    src, dst = f[2], f[4].rstrip(":")
    to_server = dst.endswith("." + sport)
    cport = src.rsplit(".", 1)[1] if to_server else dst.rsplit(".", 1)[1]
    flags = line.split("Flags [", 1)[1].split("]", 1)[0] if "Flags [" in line else ""
    length = int(line.rsplit("length ", 1)[1].split()[0]) if "length " in line else 0
    c = conns.get(cport)
    if to_server and flags == "S":
        if c is None or "synack" in c:
            c = conns[cport] = {"syn": t, "synretx": 0}
        else:
            c["synretx"] += 1
        continue
    if c is None:
        continue
    if not to_server and flags == "S.":
        c.setdefault("synack", t)
    elif to_server and length > 0:
        if "hello" not in c:
            c["hello"] = t
        elif "srv1" in c and "cli2" not in c:
            c["cli2"] = t
    elif not to_server and length > 0:
        c.setdefault("srv1", t)
    if not to_server and ("F" in flags or "R" in flags) and "srv1" not in c:
        c.setdefault("sclose", t)
    if to_server and ("F" in flags or "R" in flags) and "cli2" not in c:
        c.setdefault("cclose", t)


def med(a):
    return f"{statistics.median(a):.0f}" if a else "-"


def mx(a):
    return f"{max(a):.0f}" if a else "-"


all_c = [c for c in conns.values() if "synack" in c]
done = [c for c in all_c if "cli2" in c]
slow_c = [c for c in done if c["cli2"] - c["syn"] >= slow]
cut = [c for c in all_c if "cli2" not in c]
print(f"  capture: {len(conns)} connections, {sum(1 for c in conns.values() if c['synretx'])} with a SYN retransmitted, "
      f"{len(done)} with the client's second flight, {len(slow_c)} of those >= {slow:.0f} ms after SYN")
for name, group in (("slow", slow_c), ("unfinished", cut)):
    if not group:
        continue
    hd = [c["hello"] - c["synack"] for c in group if "hello" in c]
    sd = [c["srv1"] - c["hello"] for c in group if "srv1" in c and "hello" in c]
    cd = [c["cli2"] - c["srv1"] for c in group if "cli2" in c]
    sc = [c["sclose"] - c["hello"] for c in group if "sclose" in c and "hello" in c]
    nohello = sum(1 for c in group if "hello" not in c)
    print(f"  {name} ({len(group)}): client hello after SYN-ACK med {med(hd)} max {mx(hd)} ms; "
          f"server answer after hello med {med(sd)} max {mx(sd)} ms ({len(sd)}); "
          f"client 2nd flight after server answer med {med(cd)} max {mx(cd)} ms ({len(cd)}); "
          f"no hello sent {nohello}; server closed before answering {len(sc)} (med {med(sc)} ms after hello)")
    # who held each connection longest
    held = {"client-hello": 0, "server": 0, "client-finish": 0}
    for c in group:
        parts = {}
        if "hello" in c:
            parts["client-hello"] = c["hello"] - c["synack"]
        if "srv1" in c and "hello" in c:
            parts["server"] = c["srv1"] - c["hello"]
        elif "hello" in c:
            parts["server"] = c.get("sclose", c["hello"]) - c["hello"]
        if "cli2" in c:
            parts["client-finish"] = c["cli2"] - c["srv1"]
        if parts:
            held[max(parts, key=parts.get)] += 1
    print(f"    longest wait per connection: {held}")

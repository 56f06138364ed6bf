# User vs kernel time per connection of a perf script (bench/perf-passthrough.sh), user time by innermost JS frame.
# Usage: python3 perf-user.py SCRIPT CONNECTIONS
import sys, collections
import importlib.util
spec = importlib.util.spec_from_file_location("pn", __file__.replace("perf-user.py", "perf-native.py"))
pn = importlib.util.module_from_spec(spec); spec.loader.exec_module(pn)
script, n = sys.argv[1], float(sys.argv[2])
us = 500.0 / n
user = collections.Counter(); kern = collections.Counter(); leafs = collections.defaultdict(collections.Counter)
tot = collections.Counter()
for st in pn.samples(script):
    nm = [pn.frame(f) for f in st]
    js = next((x for x in nm if x.startswith("JS:")), "(no JS)")
    # outermost JS frame (entry handler)
    outer = next((x for x in reversed(nm) if x.startswith("JS:")), "(no JS)")
    key = js
    if nm[0] == "K":
        kern[key] += 1; tot["kernel"] += 1
    else:
        user[key] += 1; tot["user"] += 1
        leafs[key][nm[0]] += 1
print("user %.1f kernel %.1f us/conn" % (tot["user"] * us, tot["kernel"] * us))
print("user time by innermost JS frame:")
for k, v in user.most_common(25):
    print("  %-30s %6.2f   top leaves: %s" % (k, v * us, ", ".join("%s %.2f" % (a, b * us) for a, b in leafs[k].most_common(4))))
print("kernel time by innermost JS frame:")
for k, v in kern.most_common(10):
    print("  %-30s %6.2f" % (k, v * us))

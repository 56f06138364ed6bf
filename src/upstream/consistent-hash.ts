// Consistent hashing over a cluster's endpoints, built as Envoy builds it so
// that every worker (and a reload that keeps the endpoints) maps a key to the
// same endpoint: deterministic from the endpoint list alone, with xxHash64
// (seed 0) over `address:port` strings, as Envoy's default hash function.
//
// Ring hash (Envoy ring_hash_lb.cc): weights normalised; ring size
//   scale = min(ceil(minWeight * minimumRingSize) / minWeight, maximumRingSize);
// each endpoint gets scale × weight entries (running sums, so fractions even
// out), keyed `<address:port>_<i>`; sorted by hash; a request hash picks the
// first entry whose hash is ≥ it, wrapping to the first.
// Maglev (Envoy maglev_lb.cc, the paper's table with weights): each endpoint's
// permutation is offset = h0 % size, skip = h1 % (size − 1) + 1 (h1: seed 1);
// endpoints take turns claiming their next free slot, an endpoint of weight w
// taking a turn when iteration × w ≥ its running target (which grows by the
// largest weight per turn taken); a request hash picks slot hash % size.
//
// A request without a hash key (header absent ...) gets a random endpoint, as in Envoy.

export interface HashTarget {
  address: string;
  port: number;
  weight: number;
}

/** The string Envoy hashes for a host: `ip:port`, IPv6 in brackets. */
export function hostKey(t: HashTarget): string {
  return t.address.includes(":") ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}

export function xxHash64(s: string, seed = 0n): bigint {
  return Bun.hash.xxHash64(s, seed) as bigint;
}

export interface HashTable {
  /** Index (into the targets) for a 64-bit hash. */
  pick(hash: bigint): number;
  /** Entries (ring) or slots (Maglev), for tests and dumps. */
  readonly size: number;
  /** Entries or slots each target owns. */
  counts(): number[];
}

function normalized(targets: HashTarget[]): { weights: number[]; min: number; max: number } {
  let sum = 0;
  for (const t of targets) sum += t.weight > 0 ? t.weight : 1;
  const weights = targets.map((t) => (t.weight > 0 ? t.weight : 1) / sum);
  return { weights, min: Math.min(...weights), max: Math.max(...weights) };
}

export function buildRing(targets: HashTarget[], minimumRingSize: number, maximumRingSize: number): HashTable {
  const n = targets.length;
  if (n === 0) return { pick: () => -1, size: 0, counts: () => [] };
  const { weights, min } = normalized(targets);
  const scale = Math.min(Math.ceil(min * minimumRingSize) / min, maximumRingSize);
  const entries: { hash: bigint; host: number }[] = [];
  let current = 0;
  let target = 0;
  for (let h = 0; h < n; h++) {
    const key = hostKey(targets[h]!) + "_";
    target += scale * weights[h]!;
    for (let i = 0; current < target; i++, current++) entries.push({ hash: xxHash64(key + i), host: h });
  }
  entries.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : a.host - b.host));
  const hashes = new BigUint64Array(entries.length);
  const hosts = new Int32Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    hashes[i] = entries[i]!.hash;
    hosts[i] = entries[i]!.host;
  }
  return {
    size: hashes.length,
    pick(hash: bigint): number {
      // first entry with hash ≥ h (lower bound), wrapping to 0
      let lo = 0;
      let hi = hashes.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (hashes[mid]! < hash) lo = mid + 1;
        else hi = mid;
      }
      return hosts[lo === hashes.length ? 0 : lo]!;
    },
    counts() {
      const c = new Array<number>(n).fill(0);
      for (const h of hosts) c[h]!++;
      return c;
    },
  };
}

export function buildMaglev(targets: HashTarget[], tableSize: number): HashTable {
  const n = targets.length;
  if (n === 0) return { pick: () => -1, size: 0, counts: () => [] };
  const { weights, max } = normalized(targets);
  const size = BigInt(tableSize);
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  const next = new Float64Array(n);
  const targetWeight = new Float64Array(n);
  for (let h = 0; h < n; h++) {
    const key = hostKey(targets[h]!);
    offset[h] = Number(xxHash64(key) % size);
    skip[h] = Number(xxHash64(key, 1n) % (size - 1n)) + 1;
  }
  const table = new Int32Array(tableSize).fill(-1);
  let filled = 0;
  for (let iteration = 1; filled < tableSize; iteration++) {
    for (let h = 0; h < n && filled < tableSize; h++) {
      if (iteration * weights[h]! < targetWeight[h]!) continue;
      targetWeight[h]! += max;
      // offset + skip × next stays far below 2^53 for table sizes Envoy allows (≤ 5,000,011)
      let c = (offset[h]! + skip[h]! * next[h]!) % tableSize;
      while (table[c] !== -1) {
        next[h]!++;
        c = (offset[h]! + skip[h]! * next[h]!) % tableSize;
      }
      table[c] = h;
      next[h]!++;
      filled++;
    }
  }
  return {
    size: tableSize,
    pick: (hash: bigint) => table[Number(hash % size)]!,
    counts() {
      const c = new Array<number>(n).fill(0);
      for (const h of table) c[h]!++;
      return c;
    },
  };
}

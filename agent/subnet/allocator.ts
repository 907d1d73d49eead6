/**
 * Picking a free subnet for a new lease, as upstream flanneld does (`allocateSubnet` in
 * `pkg/subnet/etcd/local_manager.go`). Pure: randomness comes in as a function.
 *
 * Upstream walks every candidate from `SubnetMin` to `SubnetMax` in steps of one subnet and tests each against
 * every lease (O(candidates × leases)). Here the taken prefixes are sorted and merged into intervals once, and the
 * walk jumps over each interval, so it takes at most (number of intervals + 100) steps whatever the pool's size
 * (an IPv6 pool can hold 2^64 candidates) — and it cannot loop forever at the top of the address space, where
 * upstream's uint32 arithmetic wraps.
 *
 * @module
 */
import { UserError } from "../../cli/errors.ts";
import type { SubnetPool } from "../config/mod.ts";
import { bitsOf, formatIp, type IpNet } from "../ip.ts";

/** How many free candidates upstream collects before picking one at random. */
const MAX_CANDIDATES = 100;

/** Thrown when every candidate subnet of the pool overlaps an existing lease. */
export class SubnetPoolExhaustedError extends UserError {
  override name = "SubnetPoolExhaustedError";
  /** The pool that is full. */
  readonly pool: SubnetPool;

  /**
   * @param pool The pool that is full.
   */
  constructor(pool: SubnetPool) {
    const count = candidateCount(pool);
    const family = pool.network.addr.family;
    super(
      `No free subnet: all ${count} /${pool.subnetLen} subnet${count === 1n ? "" : "s"} from ${
        formatIp(pool.subnetMin)
      } to ${formatIp(pool.subnetMax)} overlap existing leases`,
      {
        hint: `Widen "${family === 4 ? "Network" : "IPv6Network"}" or the "${
          family === 4 ? "SubnetMin" : "IPv6SubnetMin"
        }".."${
          family === 4 ? "SubnetMax" : "IPv6SubnetMax"
        }" range in the network config, or delete stale lease keys under <etcd-prefix>/subnets/`,
      },
    );
    this.pool = pool;
  }
}

function subnetSize(pool: SubnetPool): bigint {
  return 1n << BigInt(bitsOf(pool.network.addr.family) - pool.subnetLen);
}

function candidateCount(pool: SubnetPool): bigint {
  const size = subnetSize(pool);
  return pool.subnetMax.value < pool.subnetMin.value
    ? 0n
    : (pool.subnetMax.value - pool.subnetMin.value) / size + 1n;
}

/**
 * Whether an existing subnet may be kept under the pool, as upstream's `isSubnetConfigCompat` decides: same family,
 * prefix length equal to the pool's subnet length, and the subnet's address within `subnetMin..subnetMax`.
 *
 * @param pool The pool from the current network config.
 * @param subnet A lease's subnet, or the previous subnet from subnet.env.
 * @returns Whether the subnet can be reused.
 * @example
 * ```ts
 * import { isCompatibleSubnet } from "./allocator.ts";
 * import { parseNetworkConfig } from "../config/mod.ts";
 * import { parseCidr } from "../ip.ts";
 * const pool = parseNetworkConfig(`{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}`).ipv4!;
 * console.assert(isCompatibleSubnet(pool, parseCidr("10.5.7.0/24")));
 * console.assert(!isCompatibleSubnet(pool, parseCidr("10.5.0.0/24"))); // below SubnetMin
 * ```
 */
export function isCompatibleSubnet(pool: SubnetPool, subnet: IpNet): boolean {
  return subnet.addr.family === pool.network.addr.family &&
    subnet.prefixLen === pool.subnetLen &&
    subnet.addr.value >= pool.subnetMin.value &&
    subnet.addr.value <= pool.subnetMax.value;
}

/**
 * Picks a free subnet: walks the candidates from `subnetMin` to `subnetMax` inclusive in steps of one subnet,
 * skips every candidate that overlaps any taken prefix (of any length), stops after 100 free candidates and picks
 * one of them uniformly with `random` — upstream's algorithm, in (taken + 100) steps.
 *
 * @param pool The pool (from {@linkcode parseNetworkConfig}: `subnetMin`/`subnetMax` aligned to `subnetLen`).
 * @param taken The subnets of existing leases (other families are ignored).
 * @param random A source of numbers in [0, 1), like `Math.random` or a seeded generator in tests.
 * @returns A free subnet of length `pool.subnetLen`.
 * @throws {SubnetPoolExhaustedError} When no candidate is free.
 * @throws {RangeError} When the pool itself is malformed (unaligned bounds, bad length, mixed families).
 * @example
 * ```ts
 * import { allocateSubnet } from "./allocator.ts";
 * import { parseNetworkConfig } from "../config/mod.ts";
 * import { formatCidr, parseCidr } from "../ip.ts";
 * const pool = parseNetworkConfig(`{"Network":"10.5.0.0/22","SubnetLen":24,"Backend":{"Type":"vxlan"}}`).ipv4!;
 * const taken = [parseCidr("10.5.1.0/24"), parseCidr("10.5.2.0/24")];
 * console.assert(formatCidr(allocateSubnet(pool, taken, () => 0)) === "10.5.3.0/24");
 * ```
 */
export function allocateSubnet(pool: SubnetPool, taken: Iterable<IpNet>, random: () => number): IpNet {
  const family = pool.network.addr.family;
  const bits = bitsOf(family);
  if (!Number.isInteger(pool.subnetLen) || pool.subnetLen < 0 || pool.subnetLen > bits) {
    throw new RangeError(`Subnet length ${pool.subnetLen} is out of range for IPv${family}`);
  }
  if (pool.subnetMin.family !== family || pool.subnetMax.family !== family) {
    throw new RangeError("The pool's SubnetMin and SubnetMax must have the network's address family");
  }
  const size = subnetSize(pool);
  const min = pool.subnetMin.value;
  const max = pool.subnetMax.value;
  if (min % size !== 0n || max % size !== 0n) {
    throw new RangeError(`The pool's SubnetMin and SubnetMax must start /${pool.subnetLen} subnets`);
  }

  // Taken prefixes as closed intervals [start, end], sorted by start and merged.
  const intervals: [bigint, bigint][] = [];
  for (const net of taken) {
    if (net.addr.family !== family) continue;
    const start = net.addr.value & ~((1n << BigInt(bits - net.prefixLen)) - 1n);
    intervals.push([start, start + (1n << BigInt(bits - net.prefixLen)) - 1n]);
  }
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const merged: [bigint, bigint][] = [];
  for (const iv of intervals) {
    const last = merged[merged.length - 1];
    if (last && iv[0] <= last[1] + 1n) {
      if (iv[1] > last[1]) last[1] = iv[1];
    } else {
      merged.push([iv[0], iv[1]]);
    }
  }

  const free: bigint[] = [];
  let i = 0;
  let cursor = min;
  while (cursor <= max && free.length < MAX_CANDIDATES) {
    const end = cursor + size - 1n;
    while (i < merged.length && merged[i]![1] < cursor) i++;
    const iv = merged[i];
    if (iv !== undefined && iv[0] <= end) {
      // Every candidate up to the interval's end overlaps it: jump to the first candidate after it.
      const steps = (iv[1] + 1n - min + size - 1n) / size;
      cursor = min + steps * size;
      i++;
      continue;
    }
    free.push(cursor);
    cursor += size;
  }
  if (free.length === 0) throw new SubnetPoolExhaustedError(pool);
  const r = random();
  const index = Math.min(
    free.length - 1,
    Math.max(0, Math.floor((Number.isFinite(r) ? r : 0) * free.length)),
  );
  return { addr: { family, value: free[index]! }, prefixLen: pool.subnetLen };
}

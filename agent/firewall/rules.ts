/**
 * flanneld's masquerade and forward rules, as data and as text (pure).
 *
 * iptables (upstream `pkg/trafficmngr/iptables/iptables.go`), every rule commented `flanneld masq` /
 * `flanneld forward`; `C` = the flannel Network, `P` = this node's lease subnet:
 *
 * | table  | chain           | rule                                                        |
 * |--------|-----------------|-------------------------------------------------------------|
 * | nat    | POSTROUTING     | `-j FLANNEL-POSTRTG` (the jump)                             |
 * | nat    | FLANNEL-POSTRTG | `-m mark --mark 0x4000/0x4000 -j RETURN` (kube-proxy's mark) |
 * | nat    | FLANNEL-POSTRTG | `-s P -d C -j RETURN`                                       |
 * | nat    | FLANNEL-POSTRTG | `-s C -d P -j RETURN`                                       |
 * | nat    | FLANNEL-POSTRTG | `! -s C -d P -j RETURN`                                     |
 * | nat    | FLANNEL-POSTRTG | `-s C ! -d 224.0.0.0/4 -j MASQUERADE [--random-fully]`      |
 * | nat    | FLANNEL-POSTRTG | `! -s C -d C -j MASQUERADE [--random-fully]`                |
 * | filter | FORWARD         | `-j FLANNEL-FWD` (the jump)                                 |
 * | filter | FLANNEL-FWD     | `-s C -j ACCEPT`, `-d C -j ACCEPT`                          |
 *
 * IPv6 is the same with `ff00::/8` for the multicast range. Rules are rendered in iptables-save's canonical
 * form, so the same text is both the iptables-restore input and what a check looks for in iptables-save output.
 *
 * nftables (upstream `pkg/trafficmngr/nftables/nftables.go`): tables `ip flannel-ipv4` / `ip6 flannel-ipv6`,
 * base chains `forward` (filter, hook forward, priority filter) and `postrtg` (nat, hook postrouting, priority
 * srcnat). Two deliberate differences from upstream, so that both modes mean the same thing:
 * - rule 4 is `saddr != C daddr P return` (upstream nft: `saddr != P daddr C`, unlike its own iptables rule);
 * - the kube-proxy mark is matched masked, `meta mark & 0x4000 == 0x4000` (upstream nft: exact `meta mark
 *   0x4000`, which misses packets carrying other mark bits as well; iptables masks).
 *
 * @module
 */

/** The prefixes one address family's rules are built from, as CIDR text with host bits zero. */
export interface FamilyNets {
  /** The whole flannel network (`C`), e.g. `10.5.0.0/16`. */
  readonly network: string;
  /** This node's lease subnet (`P`), e.g. `10.5.3.0/24`. */
  readonly subnet: string;
}

/** An address family. */
export type IpFamily = 4 | 6;

/** One iptables rule. `spec` is everything after the chain name, as iptables-save prints it. */
export interface IptRule {
  readonly table: "nat" | "filter";
  readonly chain: string;
  readonly spec: readonly string[];
  /** The jump from a built-in chain into ours: positioned (`-I 1` or `-A`) and never flushed with our chains. */
  readonly jump: boolean;
}

/** Where the jumps from POSTROUTING / FORWARD into our chains go. */
export type JumpPosition = "insert" | "append";

/** Our iptables chains and the built-in chain that jumps to each. */
export const IPT_CHAINS = {
  masq: { table: "nat", chain: "FLANNEL-POSTRTG", from: "POSTROUTING", comment: "flanneld masq" },
  forward: { table: "filter", chain: "FLANNEL-FWD", from: "FORWARD", comment: "flanneld forward" },
} as const;

/** kube-proxy's masquerade mark (`KubeProxyMark` upstream). */
export const KUBE_PROXY_MARK = "0x4000/0x4000";

function multicast(family: IpFamily): string {
  return family === 4 ? "224.0.0.0/4" : "ff00::/8";
}

function commented(comment: string, ...rest: string[]): string[] {
  return ["-m", "comment", "--comment", comment, ...rest];
}

/**
 * The masquerade rules, in upstream's order: the jump, then the six rules of FLANNEL-POSTRTG.
 *
 * @param family 4 (iptables) or 6 (ip6tables)
 * @param nets the network and the node's subnet
 * @param randomFully add `--random-fully` to the MASQUERADE rules
 * @returns seven rules
 * @example
 * ```ts
 * import { masqRules, ruleLine } from "./rules.ts";
 * const [jump] = masqRules(4, { network: "10.5.0.0/16", subnet: "10.5.3.0/24" }, true);
 * console.assert(ruleLine(jump!) === '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
 * ```
 */
export function masqRules(family: IpFamily, nets: FamilyNets, randomFully: boolean): IptRule[] {
  const { table, chain, from, comment } = IPT_CHAINS.masq;
  const C = nets.network;
  const P = nets.subnet;
  const masq = randomFully ? ["-j", "MASQUERADE", "--random-fully"] : ["-j", "MASQUERADE"];
  const r = (spec: string[]): IptRule => ({ table, chain, spec, jump: false });
  return [
    { table, chain: from, spec: commented(comment, "-j", chain), jump: true },
    r(["-m", "mark", "--mark", KUBE_PROXY_MARK, ...commented(comment, "-j", "RETURN")]),
    r(["-s", P, "-d", C, ...commented(comment, "-j", "RETURN")]),
    r(["-s", C, "-d", P, ...commented(comment, "-j", "RETURN")]),
    r(["!", "-s", C, "-d", P, ...commented(comment, "-j", "RETURN")]),
    r(["-s", C, "!", "-d", multicast(family), ...commented(comment, ...masq)]),
    r(["!", "-s", C, "-d", C, ...commented(comment, ...masq)]),
  ];
}

/**
 * The forward rules: the jump, then ACCEPT from and to the network.
 *
 * @param network the flannel network, CIDR text
 * @returns three rules
 * @example
 * ```ts
 * import { forwardRules, ruleLine } from "./rules.ts";
 * const rules = forwardRules("10.5.0.0/16");
 * console.assert(ruleLine(rules[1]!) === '-A FLANNEL-FWD -s 10.5.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
 * ```
 */
export function forwardRules(network: string): IptRule[] {
  const { table, chain, from, comment } = IPT_CHAINS.forward;
  return [
    { table, chain: from, spec: commented(comment, "-j", chain), jump: true },
    { table, chain, spec: ["-s", network, ...commented(comment, "-j", "ACCEPT")], jump: false },
    { table, chain, spec: ["-d", network, ...commented(comment, "-j", "ACCEPT")], jump: false },
  ];
}

/** What to build for one family. */
export interface RuleSetOptions {
  readonly ipMasq: boolean;
  readonly forwardRules: boolean;
  readonly randomFully: boolean;
}

/**
 * Every iptables rule for one family: masquerade rules (with `ipMasq`), then forward rules (with
 * `forwardRules`), as upstream orders them at startup.
 *
 * @param family 4 or 6
 * @param nets network and subnet
 * @param options which sets, and `--random-fully`
 * @returns the rules
 */
export function iptablesRules(family: IpFamily, nets: FamilyNets, options: RuleSetOptions): IptRule[] {
  return [
    ...(options.ipMasq ? masqRules(family, nets, options.randomFully) : []),
    ...(options.forwardRules ? forwardRules(nets.network) : []),
  ];
}

function quote(token: string): string {
  return /^[^\s"'\\]+$/.test(token) ? token : `"${token.replace(/(["\\])/g, "\\$1")}"`;
}

/** A rule's spec as one line of text, tokens quoted as iptables-save quotes them. */
export function specText(spec: readonly string[]): string {
  return spec.map(quote).join(" ");
}

/**
 * A rule as iptables-save prints it (and iptables-restore reads it): `-A CHAIN spec…`.
 *
 * @param rule the rule
 * @returns the line, without newline
 */
export function ruleLine(rule: IptRule): string {
  return `-A ${rule.chain} ${specText(rule.spec)}`;
}

/** One table of an iptables-save dump: its chains and its `-A` lines in order. */
export interface SavedTable {
  readonly chains: ReadonlySet<string>;
  readonly rules: readonly string[];
}

/**
 * Parses iptables-save output into tables (`*nat` … `COMMIT`).
 *
 * @param text what `iptables-save` printed
 * @returns table name → chains and rule lines
 * @example
 * ```ts
 * import { parseSave } from "./rules.ts";
 * const t = parseSave("*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j X\nCOMMIT\n");
 * console.assert(t.get("nat")!.rules[0] === "-A POSTROUTING -j X");
 * ```
 */
export function parseSave(text: string): Map<string, SavedTable> {
  const out = new Map<string, SavedTable>();
  let chains: Set<string> | undefined;
  let rules: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line.startsWith("*")) {
      chains = new Set();
      rules = [];
      out.set(line.slice(1), { chains, rules });
    } else if (chains && line.startsWith(":")) {
      chains.add(line.slice(1).split(" ")[0] ?? "");
    } else if (chains && line.startsWith("-A ")) {
      rules.push(line);
    } else if (line === "COMMIT") {
      chains = undefined;
    }
  }
  return out;
}

/**
 * The rules of `wanted` that a table lacks (a rule in a chain that does not exist is missing too).
 *
 * @param saved the table as iptables-save printed it (`undefined`: the table was not printed)
 * @param wanted the rules expected in that table
 * @returns the missing rules, in `wanted` order
 */
export function missingRules(saved: SavedTable | undefined, wanted: readonly IptRule[]): IptRule[] {
  const present = new Set(saved?.rules ?? []);
  return wanted.filter((r) => !present.has(ruleLine(r)));
}

/** How many times a rule appears in a table. */
export function countRule(saved: SavedTable | undefined, rule: IptRule): number {
  const line = ruleLine(rule);
  return (saved?.rules ?? []).filter((l) => l === line).length;
}

/** Options of {@linkcode restoreScript}. */
export interface RestoreOptions {
  /** Where the jumps go. */
  readonly jump: JumpPosition;
  /** Rules outside our chains to delete (every occurrence found in `saved`): old-subnet leftovers. */
  readonly remove?: readonly IptRule[];
}

/**
 * The iptables-restore `--noflush` input that makes one table hold exactly `rules`, atomically.
 *
 * Declaring one of our chains (`:FLANNEL-POSTRTG - [0:0]`) creates it or, with `--noflush`, flushes it, so our
 * chains are emptied and refilled in the same transaction: never an empty window (unlike upstream's flush
 * before restore). Each jump is deleted (every copy present) and added again (`-I <chain> 1` or `-A`), upstream's
 * "-D then -A so the set stays ordered".
 *
 * @param table "nat" or "filter"
 * @param rules the rules of that table (ours and the jumps)
 * @param saved the table as it is now (to know which jumps exist)
 * @param options jump position and rules to remove
 * @returns the script, or `""` when there is nothing to do for this table
 */
export function restoreScript(
  table: string,
  rules: readonly IptRule[],
  saved: SavedTable | undefined,
  options: RestoreOptions,
): string {
  const mine = rules.filter((r) => r.table === table);
  const ownChains = [...new Set(mine.filter((r) => !r.jump).map((r) => r.chain))];
  const lines: string[] = [`*${table}`];
  for (const c of ownChains) lines.push(`:${c} - [0:0]`);
  const wantedLines = new Set(mine.map(ruleLine));
  for (const r of options.remove ?? []) {
    if (r.table !== table || ownChains.includes(r.chain) || wantedLines.has(ruleLine(r))) continue;
    for (let i = countRule(saved, r); i > 0; i--) lines.push(`-D ${r.chain} ${specText(r.spec)}`);
  }
  for (const r of mine) {
    if (r.jump) {
      for (let i = countRule(saved, r); i > 0; i--) lines.push(`-D ${r.chain} ${specText(r.spec)}`);
      lines.push(options.jump === "insert" ? `-I ${r.chain} 1 ${specText(r.spec)}` : ruleLine(r));
    } else {
      lines.push(ruleLine(r));
    }
  }
  if (lines.length === 1) return "";
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/**
 * The iptables-restore `--noflush` input that removes our chains and every jump into them from a table.
 *
 * @param table "nat" or "filter"
 * @param chains our chains to remove from that table (e.g. FLANNEL-POSTRTG)
 * @param saved the table as it is now
 * @returns the script, or `""` when nothing of ours is there
 */
export function removalScript(
  table: string,
  chains: readonly string[],
  saved: SavedTable | undefined,
): string {
  if (!saved) return "";
  const lines: string[] = [`*${table}`];
  const present = chains.filter((c) => saved.chains.has(c));
  // Any rule jumping to one of our chains, wherever it is (also jumps written by upstream flanneld).
  for (const l of saved.rules) {
    const m = /^-A (\S+) (.*)$/.exec(l);
    if (!m || present.includes(m[1]!)) continue;
    if (present.some((c) => m[2]!.endsWith(`-j ${c}`) || m[2]!.includes(`-j ${c} `))) {
      lines.push(`-D ${m[1]} ${m[2]}`);
    }
  }
  for (const c of present) lines.push(`-F ${c}`);
  for (const c of present) lines.push(`-X ${c}`);
  if (lines.length === 1) return "";
  lines.push("COMMIT", "");
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------------------------
// nftables

/** Our nftables table of a family. */
export function nftTable(family: IpFamily): { readonly family: "ip" | "ip6"; readonly name: string } {
  return family === 4 ? { family: "ip", name: "flannel-ipv4" } : { family: "ip6", name: "flannel-ipv6" };
}

/** The rules of our two nft chains, as `nft list` prints them. */
export interface NftChains {
  /** `forward` chain rules; `undefined` = the chain must not exist. */
  readonly forward: readonly string[] | undefined;
  /** `postrtg` chain rules; `undefined` = the chain must not exist. */
  readonly postrtg: readonly string[] | undefined;
}

/**
 * The nft rules for one family, in the form `nft list` prints them (and `nft -f` reads).
 *
 * @param family 4 or 6
 * @param nets network and subnet
 * @param options which sets, and `fully-random`
 * @returns the rules of each chain
 * @example
 * ```ts
 * import { nftRules } from "./rules.ts";
 * const r = nftRules(4, { network: "10.5.0.0/16", subnet: "10.5.3.0/24" },
 *   { ipMasq: false, forwardRules: true, randomFully: true });
 * console.assert(r.forward![0] === "ip saddr 10.5.0.0/16 accept");
 * ```
 */
export function nftRules(family: IpFamily, nets: FamilyNets, options: RuleSetOptions): NftChains {
  const f = family === 4 ? "ip" : "ip6";
  const C = nets.network;
  const P = nets.subnet;
  const masq = options.randomFully ? "masquerade fully-random" : "masquerade";
  return {
    forward: options.forwardRules ? [`${f} saddr ${C} accept`, `${f} daddr ${C} accept`] : undefined,
    postrtg: options.ipMasq
      ? [
        "meta mark & 0x00004000 == 0x00004000 return",
        `${f} saddr ${P} ${f} daddr ${C} return`,
        `${f} saddr ${C} ${f} daddr ${P} return`,
        `${f} saddr != ${C} ${f} daddr ${P} return`,
        `${f} saddr ${C} ${f} daddr != ${multicast(family)} ${masq}`,
        `${f} saddr != ${C} ${f} daddr ${C} ${masq}`,
      ]
      : undefined,
  };
}

const NFT_CHAIN_SPEC = {
  forward: 'type filter hook forward priority filter ; comment "chain to accept flannel traffic" ;',
  postrtg:
    'type nat hook postrouting priority srcnat ; comment "chain to manage traffic masquerading by flannel" ;',
} as const;

/**
 * The `nft -f` script that makes a family's table hold exactly `chains`, in one transaction: the table is
 * created if absent (comment `rules for <table>` as upstream), each wanted chain created, flushed and refilled,
 * each unwanted chain deleted (the add-flush-delete idiom works whether or not it exists).
 *
 * @param family 4 or 6
 * @param chains the wanted rules
 * @returns the script
 */
export function nftScript(family: IpFamily, chains: NftChains): string {
  const t = nftTable(family);
  const id = `${t.family} ${t.name}`;
  const lines = [`add table ${id} { comment "rules for ${t.name}" ; }`];
  for (const name of ["forward", "postrtg"] as const) {
    const rules = chains[name];
    if (rules) {
      lines.push(`add chain ${id} ${name} { ${NFT_CHAIN_SPEC[name]} }`, `flush chain ${id} ${name}`);
      for (const r of rules) lines.push(`add rule ${id} ${name} ${r}`);
    } else {
      lines.push(`add chain ${id} ${name}`, `flush chain ${id} ${name}`, `delete chain ${id} ${name}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** The `nft -f` script that deletes both our tables (whether or not they exist). */
export function nftRemovalScript(): string {
  return [4, 6].map((f) => {
    const t = nftTable(f as IpFamily);
    return `add table ${t.family} ${t.name}\ndelete table ${t.family} ${t.name}\n`;
  }).join("");
}

/**
 * Reads the rules of each chain from `nft list table …` output.
 *
 * @param text what nft printed
 * @returns chain name → rule lines (comments and the `type … hook …` line left out)
 */
export function parseNftTable(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const m = /^chain (\S+) \{$/.exec(line);
    if (m) {
      current = [];
      out.set(m[1]!, current);
    } else if (line === "}") {
      current = undefined;
    } else if (current && line && !line.startsWith("comment ") && !line.startsWith("type ")) {
      current.push(line);
    }
  }
  return out;
}

/**
 * Whether a family's table (as `nft list table` printed it, `undefined` if absent) holds the wanted rules, in
 * order, and no unwanted chain.
 */
export function nftInSync(listed: string | undefined, chains: NftChains): boolean {
  const have = listed === undefined ? new Map<string, string[]>() : parseNftTable(listed);
  for (const name of ["forward", "postrtg"] as const) {
    const want = chains[name];
    const got = have.get(name);
    if (want === undefined) {
      if (got !== undefined) return false;
    } else if (got === undefined || got.join("\n") !== want.join("\n")) {
      return false;
    }
  }
  return true;
}

/**
 * Whether `iptables --version` output names a version with `--random-fully` and `--wait` for restore
 * (≥ 1.6.2, upstream's test).
 *
 * @param versionText e.g. `iptables v1.8.9 (nf_tables)`
 * @returns true when at least 1.6.2
 */
export function iptablesAtLeast162(versionText: string): boolean {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(versionText);
  if (!m) return false;
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return a > 1 || (a === 1 && (b > 6 || (b === 6 && c >= 2)));
}

/**
 * flanneld's ip-masq and forward rules on the node: applied atomically, checked and re-applied periodically,
 * removed on request. The rules themselves are built by the pure `firewall/rules.ts`.
 *
 * Life cycle (the daemon's order, as upstream: lease → firewall → subnet.env):
 * ```ts ignore
 * const fw = await Firewall.create({ mode: "iptables", ipv4: { network, subnet }, ipMasq: true,
 *   forwardRules: true, previous: await readPreviousSubnets(subnetFile), logger });
 * await fw.apply();                      // throws FirewallCommandError if the tools refuse
 * fw.startResync(flags.iptablesResync, signal);
 * // … on uninstall (`--cleanup`), not on a plain shutdown (upstream leaves rules in place):
 * await fw.teardown();
 * ```
 *
 * How it differs from upstream flanneld, on purpose:
 * - one `iptables-restore --noflush` run per family for both tables, our chains declared (so created or
 *   flushed) and refilled inside the same transaction: the chain is never seen empty (upstream flushes first,
 *   issue #2237); the check reads `iptables-save` once instead of one `iptables -C` process per rule;
 * - the jumps from POSTROUTING/FORWARD are inserted at position 1 by default (`jump: "insert"`), so a distro's
 *   trailing REJECT/DROP in FORWARD cannot shadow them (user-pain S1); `jump: "append"` is upstream's behaviour;
 * - a set turned off (`ipMasq: false`, `forwardRules: false`) has its chain and jump removed; upstream leaves
 *   them until reboot;
 * - nftables mode is resynced too, matches the kube-proxy mark masked, and its rule 4 is iptables' rule
 *   (`firewall/rules.ts`); switching to nftables removes the iptables chains from the right tables (upstream
 *   looks for FLANNEL-FWD in `nat`);
 * - `teardown()` removes everything of both modes.
 *
 * `net.ipv4.ip_forward` is left alone as upstream does (the CNI bridge plugin with `isGateway` turns it on), but
 * a warning is logged when it is 0 while forward rules are wanted, since nothing would be forwarded.
 *
 * @module
 */
import type { Logger } from "../../cli/log.ts";
import { formatCidr, type IpNet } from "../ip.ts";
import { type CommandRunner, commandRunner, FirewallCommandError, mustRun } from "./exec.ts";
import {
  type FamilyNets,
  type IpFamily,
  IPT_CHAINS,
  iptablesAtLeast162,
  iptablesRules,
  type IptRule,
  type JumpPosition,
  masqRules,
  missingRules,
  nftInSync,
  nftRemovalScript,
  nftRules,
  nftScript,
  nftTable,
  parseSave,
  removalScript,
  restoreScript,
  type RuleSetOptions,
  type SavedTable,
} from "./rules.ts";

export { FirewallCommandError } from "./exec.ts";
export type { CommandRunner } from "./exec.ts";
export type { JumpPosition } from "./rules.ts";

/** Which tool programs the rules (the network config's `EnableNFTables`). */
export type FirewallMode = "iptables" | "nftables";

/** The prefixes of one family. */
export interface FirewallNets {
  /** The flannel network (`Network` / `IPv6Network`). */
  readonly network: IpNet;
  /** This node's lease subnet. */
  readonly subnet: IpNet;
}

/** The prefixes a previous run wrote to subnet.env (the shape of `subnet_file.ts` `PreviousSubnets`). */
export interface PreviousNets {
  readonly network?: IpNet;
  readonly subnet?: IpNet;
  readonly ipv6Network?: IpNet;
  readonly ipv6Subnet?: IpNet;
}

/** Options of {@linkcode Firewall.create}. */
export interface FirewallOptions {
  readonly mode: FirewallMode;
  /** IPv4 prefixes; absent when IPv4 is off. */
  readonly ipv4?: FirewallNets | undefined;
  /** IPv6 prefixes; absent when IPv6 is off. */
  readonly ipv6?: FirewallNets | undefined;
  /** `--ip-masq`. */
  readonly ipMasq: boolean;
  /** `--ip-masq-fully-random-disable`. */
  readonly fullyRandomDisable?: boolean;
  /** `--iptables-forward-rules`. */
  readonly forwardRules: boolean;
  /** Where the jumps into our chains go (default "insert": first in POSTROUTING / FORWARD). */
  readonly jump?: JumpPosition;
  /** What the old subnet.env said: masquerade rules built from other values are removed (upstream does too). */
  readonly previous?: PreviousNets | undefined;
  readonly logger: Logger;
  /** Prefix for every command, e.g. `["ip", "netns", "exec", "lab1"]` (tests); default none. */
  readonly exec?: readonly string[];
  /** Stands in for the tools (unit tests); overrides `exec`. */
  readonly runner?: CommandRunner;
}

/** What {@linkcode Firewall.check} found. */
export interface FirewallCheck {
  readonly inSync: boolean;
  /** One line per missing or unexpected piece, for the log. */
  readonly problems: readonly string[];
}

interface Family {
  readonly family: IpFamily;
  readonly nets: FamilyNets;
  readonly previous: FamilyNets | undefined;
}

function toText(n: FirewallNets): FamilyNets {
  return { network: formatCidr(n.network), subnet: formatCidr(n.subnet) };
}

function prevText(network: IpNet | undefined, subnet: IpNet | undefined): FamilyNets | undefined {
  return network && subnet ? { network: formatCidr(network), subnet: formatCidr(subnet) } : undefined;
}

const TOOLS = {
  4: { ipt: "iptables", save: "iptables-save", restore: "iptables-restore" },
  6: { ipt: "ip6tables", save: "ip6tables-save", restore: "ip6tables-restore" },
} as const;

/** The node's flannel firewall rules. */
export class Firewall {
  readonly mode: FirewallMode;
  readonly #o: FirewallOptions;
  readonly #run: CommandRunner;
  readonly #log: Logger;
  #families: Family[];
  readonly #randomFully: boolean;
  readonly #wait: boolean;
  #otherModeCleaned = false;
  #previousHandled = false;
  #forwardChecked = false;

  private constructor(o: FirewallOptions, run: CommandRunner, randomFully: boolean, wait: boolean) {
    this.mode = o.mode;
    this.#o = o;
    this.#run = run;
    this.#log = o.logger;
    this.#randomFully = randomFully;
    this.#wait = wait;
    const p = o.previous;
    this.#families = [];
    if (o.ipv4) {
      this.#families.push({ family: 4, nets: toText(o.ipv4), previous: prevText(p?.network, p?.subnet) });
    }
    if (o.ipv6) {
      this.#families.push({
        family: 6,
        nets: toText(o.ipv6),
        previous: prevText(p?.ipv6Network, p?.ipv6Subnet),
      });
    }
  }

  /**
   * Probes the tools (iptables ≥ 1.6.2 for `--random-fully` and `--wait`; nft's `fully-random` with a dry run)
   * and returns a firewall that has changed nothing yet.
   *
   * @param options what to program and how
   * @returns the firewall
   * @throws {FirewallCommandError} when the mode's tool is missing or unusable
   */
  static async create(options: FirewallOptions): Promise<Firewall> {
    const run = options.runner ?? commandRunner(options.exec ?? []);
    const log = options.logger;
    let supported = false;
    let wait = false;
    if (options.mode === "iptables") {
      const tool = options.ipv4 || !options.ipv6 ? "iptables" : "ip6tables";
      const out = await run([tool, "--version"]).catch((e) => {
        throw new FirewallCommandError([tool, "--version"], { code: -1, stdout: "", stderr: String(e) });
      });
      if (out.code !== 0) throw new FirewallCommandError([tool, "--version"], out);
      supported = iptablesAtLeast162(out.stdout + out.stderr);
      wait = supported;
    } else {
      const probe = "add table ip flannel-probe\nadd chain ip flannel-probe masqueradeTest " +
        "{ type nat hook postrouting priority srcnat ; }\n" +
        "add rule ip flannel-probe masqueradeTest masquerade fully-random\n";
      const out = await run(["nft", "-c", "-f", "-"], probe).catch((e) => {
        throw new FirewallCommandError(["nft", "-c"], { code: -1, stdout: "", stderr: String(e) });
      });
      supported = out.code === 0;
    }
    const randomFully = supported && !options.fullyRandomDisable;
    if (options.ipMasq && !supported && !options.fullyRandomDisable) {
      log.warn("The firewall tool has no fully-random masquerade; masquerading without it", {
        mode: options.mode,
      });
    }
    return new Firewall(options, run, randomFully, wait);
  }

  /**
   * Points the rule set at new prefixes (our lease moved to another subnet) without applying it; call
   * {@linkcode apply} next. From then on {@linkcode check} and the periodic resync compare the node with the
   * new set: a firewall replaced instead would leave a running resync checking — and restoring — the old one.
   * The old set's rules in our chains go with the chains' flush on the next apply.
   *
   * @param nets the new prefixes of each family (a family absent here keeps its prefixes)
   * @example
   * ```ts ignore
   * fw.retarget({ ipv4: { network, subnet: newSubnet } });
   * await fw.apply();
   * ```
   */
  retarget(
    nets: { readonly ipv4?: FirewallNets | undefined; readonly ipv6?: FirewallNets | undefined },
  ): void {
    this.#families = this.#families.map((f) => {
      const n = f.family === 4 ? nets.ipv4 : nets.ipv6;
      return n ? { ...f, nets: toText(n) } : f;
    });
  }

  /** Whether MASQUERADE rules carry `--random-fully` / `fully-random`. */
  get randomFully(): boolean {
    return this.#randomFully;
  }

  #ruleOptions(): RuleSetOptions {
    return { ipMasq: this.#o.ipMasq, forwardRules: this.#o.forwardRules, randomFully: this.#randomFully };
  }

  /** The iptables rules of a family (pure; for logs and tests). */
  iptablesRulesOf(family: IpFamily): IptRule[] {
    const f = this.#families.find((x) => x.family === family);
    return f ? iptablesRules(family, f.nets, this.#ruleOptions()) : [];
  }

  /**
   * Makes the node hold exactly our rules: removes the other mode's leftovers (first call), then programs each
   * family in one transaction. Safe to call again at any time (that is what the resync does).
   *
   * @throws {FirewallCommandError} when iptables-restore or nft refuses the rules
   */
  async apply(): Promise<void> {
    if (!this.#otherModeCleaned) {
      await this.#cleanOtherMode();
      this.#otherModeCleaned = true;
    }
    for (const f of this.#families) {
      if (this.mode === "iptables") await this.#applyIptables(f);
      else await this.#applyNft(f);
    }
    this.#previousHandled = true;
    if (this.#o.forwardRules && !this.#forwardChecked) {
      this.#forwardChecked = true;
      await this.#warnIpForward();
    }
  }

  async #save(family: IpFamily): Promise<Map<string, SavedTable>> {
    const out = await mustRun(this.#run, [TOOLS[family].save]);
    return parseSave(out.stdout);
  }

  #restoreArgs(family: IpFamily): string[] {
    return [TOOLS[family].restore, "--noflush", ...(this.#wait ? ["--wait"] : [])];
  }

  async #applyIptables(f: Family): Promise<void> {
    const saved = await this.#save(f.family);
    const rules = iptablesRules(f.family, f.nets, this.#ruleOptions());
    let remove: IptRule[] = [];
    if (!this.#previousHandled && this.#o.ipMasq && f.previous) {
      const p = f.previous;
      if (p.network !== f.nets.network || p.subnet !== f.nets.subnet) {
        this.#log.info("Network or subnet differs from the previous run's; removing its masquerade rules", {
          previous: `${p.network} ${p.subnet}`,
          current: `${f.nets.network} ${f.nets.subnet}`,
        });
        // Rules in our own chain go with the flush; what else the old set had (the jump) is deleted here.
        remove = [...masqRules(f.family, p, true), ...masqRules(f.family, p, false)];
      }
    }
    let script = "";
    for (const [name, set] of [["masq", this.#o.ipMasq], ["forward", this.#o.forwardRules]] as const) {
      const { table, chain } = IPT_CHAINS[name];
      if (set) {
        script += restoreScript(table, rules.filter((r) => r.table === table), saved.get(table), {
          jump: this.#o.jump ?? "insert",
          remove,
        });
      } else if (saved.get(table)?.chains.has(chain)) {
        this.#log.info("Removing firewall rules that are turned off", { chain, family: f.family });
        script += removalScript(table, [chain], saved.get(table));
      }
    }
    if (!script) return;
    this.#log.debug(2, "iptables-restore", { family: f.family, script });
    await mustRun(this.#run, this.#restoreArgs(f.family), script);
  }

  #nftChains(f: Family) {
    return nftRules(f.family, f.nets, this.#ruleOptions());
  }

  async #applyNft(f: Family): Promise<void> {
    const script = nftScript(f.family, this.#nftChains(f));
    this.#log.debug(2, "nft -f", { family: f.family, script });
    await mustRun(this.#run, ["nft", "-f", "-"], script);
  }

  async #listNft(family: IpFamily): Promise<string | undefined> {
    const t = nftTable(family);
    const out = await this.#run(["nft", "list", "table", t.family, t.name]);
    return out.code === 0 ? out.stdout : undefined;
  }

  /**
   * Compares the node with what {@linkcode apply} would program. Existence is what counts (as upstream), not the
   * jump's position: insisting on position 1 would fight other tools that insert too.
   *
   * @returns whether everything is there, and what is not
   */
  async check(): Promise<FirewallCheck> {
    const problems: string[] = [];
    for (const f of this.#families) {
      if (this.mode === "iptables") {
        const saved = await this.#save(f.family);
        const rules = iptablesRules(f.family, f.nets, this.#ruleOptions());
        for (const table of ["nat", "filter"] as const) {
          for (const r of missingRules(saved.get(table), rules.filter((x) => x.table === table))) {
            problems.push(`IPv${f.family} ${table}: missing ${r.chain} ${r.spec.join(" ")}`);
          }
        }
      } else {
        if (!nftInSync(await this.#listNft(f.family), this.#nftChains(f))) {
          problems.push(`IPv${f.family} nftables table ${nftTable(f.family).name} differs`);
        }
      }
    }
    return { inSync: problems.length === 0, problems };
  }

  /**
   * Checks, and re-applies everything when anything is missing.
   *
   * @returns true when the rules had to be re-applied
   */
  async resync(): Promise<boolean> {
    const c = await this.check();
    if (c.inSync) return false;
    this.#log.warn("Some firewall rules are missing; re-applying them", { problems: c.problems.join("; ") });
    await this.apply();
    return true;
  }

  /**
   * Runs {@linkcode resync} every `periodSeconds` (`--iptables-resync`) until `signal` aborts. Failures are
   * logged and retried at the next period.
   *
   * @param periodSeconds the period (upstream default 5)
   * @param signal stops the loop
   * @returns a promise that settles when the loop has stopped
   */
  startResync(periodSeconds: number, signal: AbortSignal): Promise<void> {
    const ms = Math.max(1, periodSeconds) * 1000;
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stop = () => {
        clearTimeout(timer);
        resolve();
      };
      if (signal.aborted) return stop();
      signal.addEventListener("abort", stop, { once: true });
      const tick = async () => {
        try {
          await this.resync();
        } catch (e) {
          this.#log.error("Failed to resync firewall rules", { error: e });
        }
        if (!signal.aborted) timer = setTimeout(tick, ms);
      };
      timer = setTimeout(tick, ms);
    });
  }

  /** Removes every chain, jump and table of ours, for both modes and both families. */
  async teardown(): Promise<void> {
    await this.#removeIptables();
    await this.#removeNft();
  }

  async #cleanOtherMode(): Promise<void> {
    if (this.mode === "iptables") await this.#removeNft();
    else await this.#removeIptables();
  }

  async #removeNft(): Promise<void> {
    const out = await this.#run(["nft", "-f", "-"], nftRemovalScript()).catch(() => undefined);
    if (out && out.code !== 0) {
      this.#log.debug(2, "No nftables tables removed", { stderr: out.stderr.trim() });
    }
  }

  async #removeIptables(): Promise<void> {
    for (const family of [4, 6] as const) {
      const save = await this.#run([TOOLS[family].save]).catch(() => undefined);
      if (!save || save.code !== 0) continue; // the tool is missing: nothing of ours can be there
      const saved = parseSave(save.stdout);
      const script = removalScript("nat", [IPT_CHAINS.masq.chain], saved.get("nat")) +
        removalScript("filter", [IPT_CHAINS.forward.chain], saved.get("filter"));
      if (script) await mustRun(this.#run, this.#restoreArgs(family), script);
    }
  }

  async #warnIpForward(): Promise<void> {
    const paths = this.#families.map((f) =>
      f.family === 4 ? "/proc/sys/net/ipv4/ip_forward" : "/proc/sys/net/ipv6/conf/all/forwarding"
    );
    for (const path of paths) {
      let value: string | undefined;
      try {
        value = this.#o.exec || this.#o.runner
          ? (await this.#run(["cat", path])).stdout
          : await Deno.readTextFile(path);
      } catch {
        continue;
      }
      if (value.trim() === "0") {
        this.#log.warn(
          `${path} is 0: the node forwards no pod traffic; flannel leaves it alone like upstream (the CNI ` +
            "bridge plugin with isGateway turns it on at the first pod); set it with sysctl if pods run otherwise",
        );
      }
    }
  }
}

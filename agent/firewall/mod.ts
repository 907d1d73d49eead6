/**
 * flanneld's firewall rules on the node: the ip-masq rules (masquerade pod traffic leaving the flannel network)
 * and the forward rules, programmed with iptables or nftables, checked and re-applied periodically, removed on
 * `--cleanup`.
 *
 * - `firewall.ts`: {@linkcode Firewall}, the life cycle (I/O)
 * - `rules.ts`: the rules as data and as `iptables-restore` / `nft` text (pure)
 * - `exec.ts`: running the tools, a function-shaped seam for tests
 *
 * @example Apply the rules inside a lab namespace
 * ```ts ignore
 * import { Firewall } from "./mod.ts";
 * const fw = await Firewall.create({
 *   mode: "iptables", ipv4: { network, subnet }, ipMasq: true, forwardRules: true, logger,
 *   exec: ["ip", "netns", "exec", "lab1"],
 * });
 * await fw.apply();
 * ```
 *
 * @module
 */
export {
  type CommandRunner,
  Firewall,
  type FirewallCheck,
  FirewallCommandError,
  type FirewallMode,
  type FirewallNets,
  type FirewallOptions,
  type JumpPosition,
  type PreviousNets,
} from "./firewall.ts";

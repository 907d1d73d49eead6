/**
 * `flannel-lab doctor`: what this host can run (tools, kernel features, impairments, leftovers, the
 * upstream test tools), each with the fix.
 *
 * @module
 */
import { eprintln, println } from "../../cli/output.ts";
import { run } from "../../cli/process/mod.ts";
import { ownedNamespaces } from "../runtime/mod.ts";

/** `doctor`: what this host can run. */
export async function doctorMain(args: string[]): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) return (println("Usage: flannel-lab doctor"), 0);
  const checks: [string, boolean, string][] = [];
  const has = async (cmd: string[]) =>
    (await run(cmd, { check: false, timeoutMs: 10_000 }).catch(() => ({ code: 127 }))).code === 0;
  checks.push(["root", Deno.uid() === 0, Deno.uid() === 0 ? "running as root" : "labs need root"]);
  for (const tool of ["ip", "tc", "etcd", "etcdctl", "tcpdump", "iperf3", "ping"]) {
    const ok = await has(["sh", "-c", `command -v ${tool}`]);
    checks.push([`tool ${tool}`, ok, ok ? "found" : "missing: apt-get install it"]);
  }
  for (const p of ["bridge", "host-local"]) {
    const ok = (await Deno.stat(`/usr/lib/cni/${p}`).catch(() => undefined)) !== undefined;
    checks.push([
      `cni ${p}`,
      ok,
      ok ? `/usr/lib/cni/${p}` : "missing: apt-get install containernetworking-plugins",
    ]);
  }
  const tun = (await Deno.stat("/dev/net/tun").catch(() => undefined)) !== undefined;
  checks.push([
    "tun",
    tun,
    tun ? "/dev/net/tun present (udp backend)" : "/dev/net/tun missing: the udp backend cannot run",
  ]);
  if (Deno.uid() === 0) {
    const ns = `fldoctor-${Deno.pid}`;
    const made = await has(["ip", "netns", "add", ns]);
    checks.push(["netns", made, made ? "namespaces can be created" : "ip netns add failed"]);
    if (made) {
      try {
        const kind = async (name: string, args: string[]) => {
          const ok = await has(["ip", "-n", ns, "link", "add", ...args]);
          checks.push([name, ok, ok ? "supported" : "not supported by this kernel"]);
        };
        await kind("veth", ["v0", "type", "veth", "peer", "name", "v1"]);
        await kind("bridge", ["b0", "type", "bridge"]);
        await kind("vxlan", ["x0", "type", "vxlan", "id", "1", "dstport", "8472", "nolearning"]);
        const inNs = (cmd: string[]) => has(["ip", "netns", "exec", ns, ...cmd]);
        const netem = await inNs(["tc", "qdisc", "add", "dev", "v0", "root", "netem", "delay", "1ms"]);
        const tbf = await inNs([
          "tc",
          "qdisc",
          "add",
          "dev",
          "v1",
          "root",
          "tbf",
          "rate",
          "1mbit",
          "burst",
          "32kbit",
          "latency",
          "400ms",
        ]);
        const loss = (await run(["ip", "netns", "exec", ns, "nft", "-f", "-"], {
          check: false,
          timeoutMs: 10_000,
          stdin: "add table ip flt\n" +
            "add chain ip flt post { type filter hook postrouting priority 0; }\n" +
            'add rule ip flt post oifname "v0" numgen random mod 100 < 10 drop\n',
        }).catch(() => ({ code: 1 }))).code === 0;
        checks.push([
          "impair loss",
          loss,
          loss
            ? "available: random-drop rule (nft numgen, like iptables statistic)"
            : "unavailable: nftables numgen missing",
        ]);
        checks.push([
          "impair rate",
          tbf,
          tbf ? "available: tbf qdisc" : "unavailable: the kernel has no tbf qdisc (CONFIG_NET_SCH_TBF)",
        ]);
        checks.push([
          "impair delay",
          netem,
          netem
            ? "available: netem qdisc (delay, jitter)"
            : "unavailable: the kernel has no netem qdisc (CONFIG_NET_SCH_NETEM): delay and jitter faults are refused",
        ]);
      } finally {
        await run(["ip", "netns", "del", ns], { check: false });
      }
    }
    const left = await ownedNamespaces();
    const labs = [...new Set(left.map((l) => l.lab))];
    checks.push([
      "leftovers",
      left.length === 0,
      left.length ? `${left.length} lab namespaces of ${labs.join(", ")}: flannel-lab down --all` : "none",
    ]);
  }
  // The upstream test tools (containerlab runtime, upstream agents): a stale build is a warning, a missing or
  // broken one fails only what needs it, so it is reported with the command that installs it.
  const { toolStatus } = await import("../upstream/mod.ts");
  for (const t of await toolStatus()) {
    const ok = t.state === "present";
    const detail = ok ? `${t.version ?? ""} ${t.path ?? ""}`.trim() : `${t.state}: ${t.detail}; ${t.fix}`;
    checks.push([`upstream ${t.tool}`, ok, detail]);
  }
  for (const [name, ok, what] of checks) {
    const soft = name.startsWith("impair") || name.startsWith("upstream");
    println(`${ok ? "ok  " : soft ? "warn" : "FAIL"}  ${name.padEnd(22)} ${what}`);
  }
  const bad = checks.filter(([n, ok]) =>
    !ok && !n.startsWith("impair") && !n.startsWith("upstream") && n !== "leftovers"
  );
  if (bad.length) eprintln(`${bad.length} checks failed`);
  return bad.length ? 1 : 0;
}

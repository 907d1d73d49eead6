/**
 * Traffic between the pods of an interop lab (`startInteropLab` in `upstream.ts`): a ping, waiting for pings to pass
 * (with every agent's log in the error, since a failure is usually explained there), the path MTU both ways,
 * and tcpdump on the underlay to see which path and encapsulation packets took.
 *
 * @module
 */
import assert from "node:assert/strict";
import { spawn } from "../../cli/process/mod.ts";
import { readIfExists, waitFor } from "./mini_lab.ts";
import type { InteropLab, InteropNode } from "./upstream.ts";

/** Pings `dst` from a node's pod once: true when a reply came back. */
export async function ping(from: InteropNode, dst: string, count = 1): Promise<boolean> {
  const out = await from.pod.exec(["ping", "-n", "-c", String(count), "-W", "2", dst], {
    check: false,
    timeoutMs: 30_000,
  });
  return out.code === 0;
}

/**
 * Asserts the path MTU between two pods, both ways: an `mtu`-byte ping with DF crosses, one byte more does not.
 */
export async function assertPathMtu(a: InteropNode, b: InteropNode, mtu: number): Promise<void> {
  for (const [from, to] of [[a, b], [b, a]] as const) {
    const probe = async (size: number) =>
      (await from.pod.exec(["ping", "-n", "-c", "2", "-W", "2", "-M", "do", "-s", String(size), to.podIp], {
        check: false,
        timeoutMs: 30_000,
      })).code === 0;
    assert.ok(
      await probe(mtu - 28),
      `a ${mtu}-byte packet with DF should cross ${from.node.name} → ${to.node.name}`,
    );
    assert.ok(
      !(await probe(mtu - 27)),
      `a ${mtu + 1}-byte packet with DF must not cross ${from.node.name} → ${to.node.name}`,
    );
  }
}

/** Waits until a pod pings `dst`, with both agents' logs in the error. */
export async function waitPing(
  lab: InteropLab,
  from: InteropNode,
  dst: string,
  timeoutMs = 30_000,
): Promise<void> {
  await waitFor(
    `ping ${dst} from ${from.node.name}'s pod`,
    async () => (await ping(from, dst)) || undefined,
    timeoutMs,
  )
    .catch(async (error) => {
      const logs = await Promise.all(
        lab.nodes.map(async (n) => `--- ${n.node.name} (${n.kind})\n${await lab.log(n)}`),
      );
      throw new Error(`${error.message}\n${logs.join("\n")}`);
    });
}

/**
 * Captures on a node's eth1 while `during` runs and returns tcpdump's packet lines; `filter` is a pcap filter.
 */
export async function capture(
  n: InteropNode,
  filter: readonly string[],
  during: () => Promise<unknown>,
): Promise<string[]> {
  const file = `${n.node.dir}/tcpdump-${crypto.randomUUID().slice(0, 8)}.txt`;
  const proc = await spawn(
    ["ip", "netns", "exec", n.node.ns.name, "tcpdump", "-i", "eth1", "-nn", "-l", ...filter],
    { logFile: file },
  );
  try {
    await waitFor(
      "tcpdump to listen",
      async () => /listening on/.test((await readIfExists(file)) ?? "") || undefined,
      10_000,
    );
    await during();
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await proc.stop("SIGINT");
  }
  return ((await readIfExists(file)) ?? "").split("\n").filter((l) => / IP /.test(l));
}

/**
 * Measurements several benchmarks take inside a namespace.
 *
 * @module
 */
import type { Netns } from "../harness/netns.ts";

/**
 * Per-ping round-trip times in µs: `count` pings 10 ms apart from a namespace.
 *
 * @throws {Error} when fewer than half got an answer
 */
export async function pingRtts(client: Netns, dst: string, count: number): Promise<number[]> {
  const { stdout } = await client.exec(["ping", "-c", String(count), "-i", "0.01", "-W", "2", dst], {
    timeoutMs: 120_000,
  });
  const rtts = [...stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
  if (rtts.length < count / 2) throw new Error(`Too few ping replies:\n${stdout}`);
  return rtts;
}

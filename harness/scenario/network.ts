/**
 * What a scenario's network config means for the lab's checks (pure): the backend, DirectRouting, VNI and UDP
 * port, read with the agent's own config parser. Apart from the scenario parser so that the lab view can
 * re-read it after a `network` fault without importing the parser (and, through it, every step kind).
 *
 * @module
 */
import {
  KERNEL_VXLAN_PORT,
  type NetworkConfig,
  parseNetworkConfig,
  UDP_DEFAULT_PORT,
} from "../../agent/config/mod.ts";
import type { Scenario } from "./model.ts";
import type { Obj } from "./reader.ts";

/** The fields of a {@linkcode Scenario} that follow from its network config. */
export type NetworkFields = Pick<Scenario, "network" | "backend" | "directRouting" | "vni" | "port">;

/**
 * The fields of a scenario that follow from its network config (also after a `network` fault changes it), read
 * with the agent's own parser, so the lab is judged by the config as the agent reads it: its defaults (vxlan
 * when `Backend` is absent, VNI 1, udp's port 8285), the backend type lower-cased, and options a backend does
 * not have (host-gw's `DirectRouting`, a `VNI` outside vxlan) ignored.
 *
 * @param net the network config as written to etcd
 * @returns the JSON text and the backend, DirectRouting, VNI (1 unless vxlan) and UDP port (vxlan: the kernel's
 *   8472 when `Port` is 0 or absent; udp: the forwarder's; host-gw: 0, it sends no UDP)
 * @throws {ConfigError} for a config the agent refuses
 * @example
 * ```ts
 * import { networkFields } from "./network.ts";
 * const f = networkFields({ Network: "10.244.0.0/16", Backend: { Type: "udp" } });
 * console.assert(f.backend === "udp" && f.port === 8285 && f.vni === 1 && !f.directRouting);
 * ```
 */
export function networkFields(net: Obj): NetworkFields {
  const text = JSON.stringify(net);
  return fieldsOf(text, parseNetworkConfig(text));
}

function fieldsOf(text: string, config: NetworkConfig): NetworkFields {
  const b = config.backend;
  return {
    network: text,
    backend: b.type,
    directRouting: b.type === "vxlan" && b.directRouting,
    vni: b.type === "vxlan" ? b.vni : 1,
    port: b.type === "vxlan" ? b.port || KERNEL_VXLAN_PORT : b.type === "udp" ? b.port : 0,
  };
}

/**
 * The UDP ports to look inside for each encapsulation: the lab's own for its backend, the defaults for the
 * other (a capture or trace may meet both, as during a backend change).
 *
 * @example
 * ```ts
 * import { encapPorts, networkFields } from "./network.ts";
 * const p = encapPorts(networkFields({ Network: "10.5.0.0/16", Backend: { Type: "udp", Port: 9000 } }));
 * console.assert(p.udp === 9000 && p.vxlan === 8472);
 * ```
 */
export function encapPorts(f: Pick<NetworkFields, "backend" | "port">): { vxlan: number; udp: number } {
  return {
    vxlan: f.backend === "vxlan" ? f.port : KERNEL_VXLAN_PORT,
    udp: f.backend === "udp" ? f.port : UDP_DEFAULT_PORT,
  };
}

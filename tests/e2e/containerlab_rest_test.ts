/**
 * The other shipped topologies under containerlab, so that every file is proved under both runtimes: vxlan
 * DirectRouting, host-gw on one switch, udp (TUN devices in containers), and the three interop labs (upstream
 * flanneld in a container beside ours).
 */
import { topologyTest } from "../helpers/run_cli.ts";

for (
  const name of [
    "vxlan-directrouting",
    "hostgw-same-subnet",
    "udp-same-subnet",
    "interop-vxlan",
    "interop-hostgw",
    "interop-udp",
  ]
) {
  topologyTest(name, "containerlab");
}

/**
 * The shipped topologies CI runs under real containerlab on Docker: vxlan-same-subnet (entries deleted by hand,
 * loss, link down, MTU pinch, agent kill), hostgw-split-subnet, and vxlan-split-subnet (the fault scenario: agent
 * kill, etcd outage, router link down, a node leaving). The tools install themselves (containerlab, dockerd, the
 * node image); one that cannot be installed fails the test with its install command.
 */
import { topologyTest } from "../helpers/run_cli.ts";

topologyTest("vxlan-same-subnet", "containerlab");
topologyTest("hostgw-split-subnet", "containerlab");
topologyTest("vxlan-split-subnet", "containerlab");
topologyTest("vxlan-mtu-pinch", "containerlab");

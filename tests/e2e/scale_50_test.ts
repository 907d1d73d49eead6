/**
 * The shipped 50-node lab (`flannel-lab generate`'s default: vxlan over 5 subnets behind a router, one pod
 * per node) passes its scenario on the netns runtime: 50 agents ready, 50 distinct leases, exact kernel state
 * on the first and the last node, and all 7,500 matrix cells, on this 2-core machine.
 */
import { topologyTest } from "../helpers/run_cli.ts";

topologyTest("scale-50");

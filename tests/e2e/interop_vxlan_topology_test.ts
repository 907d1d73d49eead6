/**
 * interop-vxlan: our agent and upstream flanneld v0.28.9 in one cluster (netns runtime): leases of the same form,
 * pods ping both ways, mirror-image kernel state, each side cleans up after the other leaves, and a restart of
 * ours leaves upstream undisturbed. Upstream flanneld installs itself; a failed install fails the test.
 */
import { topologyTest } from "../helpers/run_cli.ts";

topologyTest("interop-vxlan");

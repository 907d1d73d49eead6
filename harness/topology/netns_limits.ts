/**
 * What the netns runtime cannot honour in a topology that containerlab runs (pure): the management network and
 * settings, and the node keys it refuses wherever they are written (defaults, kinds, groups, nodes), each with
 * the reason. They are recorded as limits, not errors: the file resolves, and only a netns deploy refuses it.
 *
 * @module
 */
import type { Layer, Obj, ResolveContext } from "./resolve_context.ts";

/** Why the netns runtime refuses a node key (keys not listed here and not handled are refused generically). */
const REFUSED_NODE_KEYS: Record<string, string> = {
  binds: "the netns runtime shares the host's file system and has no mount namespace to bind into",
  volumes: "the netns runtime has no mount namespace",
  ports: "the netns runtime has no management network to publish ports on",
  "env-files": "not supported by the netns runtime; use env",
  "mgmt-ipv4": "the netns runtime has no management network; address lab links with exec",
  "mgmt-ipv6": "the netns runtime has no management network; address lab links with exec",
  "network-mode": "every netns node is its own network namespace",
  hostname: "netns nodes share the host's UTS namespace",
  user: "exec lines run as the harness's user in the netns runtime",
  stages: "the netns runtime deploys nodes in one stage",
  healthcheck: "netns nodes have no main process to health-check",
  memory: "the netns runtime sets no resource limits",
  cpu: "the netns runtime sets no resource limits",
  "cpu-set": "the netns runtime sets no resource limits",
};
/** Node keys the netns runtime honours (or that have no meaning without containers, said in a note). */
const HANDLED_NODE_KEYS = new Set([
  "kind",
  "group",
  "image",
  "image-pull-policy",
  "restart-policy",
  "exec",
  "env",
  "labels",
  "sysctls",
  "cmd",
  "entrypoint",
  "privileged",
  "cap-add",
  "devices",
  "startup-delay",
]);

/**
 * Records the top-level keys the netns runtime cannot honour (`mgmt`, `settings`: it has no management network).
 *
 * @param ctx the resolution
 * @param root the file's top-level mapping
 */
export function limitRootKeys(ctx: ResolveContext, root: Obj): void {
  for (const key of ["mgmt", "settings"]) {
    if (key in root) {
      ctx.limit([key], `"${key}" is not supported by the netns runtime (it has no management network)`);
    }
  }
}

/**
 * Records the node keys of one layer (defaults, a kind, a group or a node) that the netns runtime refuses.
 *
 * @param ctx the resolution
 * @param layer the layer and where it is written
 */
export function limitNodeKeys(ctx: ResolveContext, layer: Layer): void {
  for (const key of Object.keys(layer.value)) {
    if (HANDLED_NODE_KEYS.has(key)) continue;
    const why = REFUSED_NODE_KEYS[key] ?? "not supported by the netns runtime";
    ctx.limit([...layer.path, key], `"${key}" cannot be honoured: ${why}`);
  }
}

/**
 * containerlab YAML → resolved {@linkcode Topology}: environment substitution as containerlab does it, YAML with
 * positions, containerlab's JSON schema, inheritance (defaults → kinds → groups → node), links in one form with
 * containerlab's default MTU, harness roles from labels, and refusal of everything the netns runtime cannot
 * honour — each problem with file, line and field. Pure: text in, model out.
 *
 * This file is the entry and the lab-wide checks; the parts are in their own files: links
 * (`resolve_links.ts`), one node's inheritance, kind and exec lines (`resolve_node.ts`), its labels and role
 * (`node_labels.ts`), what only the netns runtime refuses (`netns_limits.ts`), and what they share
 * (`resolve_context.ts`).
 *
 * @module
 */
import { InputError } from "./errors.ts";
import { LABELS, type NodeSpec, type Topology } from "./model.ts";
import { limitNodeKeys, limitRootKeys } from "./netns_limits.ts";
import { type Obj, type ResolveContext, resolveContext, str } from "./resolve_context.ts";
import { resolveLinks } from "./resolve_links.ts";
import { resolveNode } from "./resolve_node.ts";
import { validateSchema } from "./schema.ts";
import { parseSource } from "./source.ts";

/**
 * containerlab's environment substitution: `$VAR`/`${VAR}` replaced when set and non-empty, `${VAR:-d}` and
 * `${VAR:=d}` give the default, anything else stays as written.
 *
 * @param text the file text
 * @param env the environment
 * @returns the substituted text
 * @example
 * ```ts
 * import { expandEnv } from "./resolve.ts";
 * console.assert(expandEnv("$A ${B:-d} $C ${A}", { A: "1" }) === "1 d $C 1");
 * ```
 */
export function expandEnv(text: string, env: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[-=]([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (whole, braced: string | undefined, dflt: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      const value = env[name];
      if (value) return value;
      return dflt !== undefined ? dflt : whole;
    },
  );
}

/** Options of {@linkcode resolveTopology}. */
export interface ResolveOptions {
  /** The environment used for `$VAR` substitution (containerlab uses its own). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Parses, validates and resolves a containerlab topology.
 *
 * @param file the topology file (absolute path; used in messages and for the lab directory)
 * @param text its contents
 * @param options environment for substitution
 * @returns the resolved topology
 * @throws {InputError} listing every problem with file, line and field
 */
export function resolveTopology(file: string, text: string, options: ResolveOptions = {}): Topology {
  const templ = text.indexOf("{{");
  if (templ >= 0) {
    const line = text.slice(0, templ).split("\n").length;
    throw new InputError("topology", [{
      file,
      line,
      field: "",
      message: "containerlab Go templates ({{ … }}) are not supported by flannel-lab; write the file out",
    }]);
  }
  const doc = parseSource(file, expandEnv(text, options.env ?? {}));
  if (doc.problems.length) throw new InputError("topology", doc.problems);
  if (typeof doc.value !== "object" || doc.value === null || Array.isArray(doc.value)) {
    throw new InputError("topology", [{ file, line: 1, field: "", message: "must be a YAML mapping" }]);
  }
  const schemaProblems = validateSchema(doc);
  if (schemaProblems.length) throw new InputError("topology (containerlab schema)", schemaProblems);
  const ctx = resolveContext(doc);
  const topo = resolveValid(ctx);
  if (ctx.problems.length) throw new InputError("topology", ctx.problems);
  return topo;
}

/**
 * Refuses a topology the netns runtime cannot honour (a node's binds, published ports, a management network):
 * containerlab runs such a file, so resolving it succeeds and only a netns deploy refuses it, naming each key.
 *
 * @param topo the resolved topology
 * @throws {InputError} listing what the netns runtime cannot honour
 */
export function refuseNetnsLimits(topo: Topology): void {
  if (topo.netnsLimits.length) {
    throw new InputError("topology for the netns runtime (use --runtime containerlab)", topo.netnsLimits);
  }
}

/** Resolves a document that containerlab's schema accepts. */
function resolveValid(ctx: ResolveContext): Topology {
  const root = ctx.doc.value as Obj;
  limitRootKeys(ctx, root);
  const topology = root["topology"] as Obj;
  const defaults = (topology["defaults"] ?? {}) as Obj;
  const kinds = (topology["kinds"] ?? {}) as Record<string, Obj>;
  const groups = (topology["groups"] ?? {}) as Record<string, Obj>;
  const rawNodes = topology["nodes"] as Record<string, Obj | null>;

  // Keys the runtime refuses, wherever they are written (defaults, kinds, groups; nodes as they resolve).
  limitNodeKeys(ctx, { path: ["topology", "defaults"], value: defaults });
  for (const [k, v] of Object.entries(kinds)) {
    limitNodeKeys(ctx, { path: ["topology", "kinds", k], value: v ?? {} });
  }
  for (const [g, v] of Object.entries(groups)) {
    limitNodeKeys(ctx, { path: ["topology", "groups", g], value: v ?? {} });
  }

  // Links first: nodes need to know their interfaces.
  const { links, interfaces } = resolveLinks(ctx, { rawLinks: (topology["links"] ?? []) as Obj[], rawNodes });
  const nodes: NodeSpec[] = [];
  for (const [name, rawNode] of Object.entries(rawNodes)) {
    const node = resolveNode(ctx, {
      name,
      own: rawNode ?? {},
      sections: { defaults, kinds, groups },
      interfaces: interfaces.get(name) ?? [],
    });
    if (node) nodes.push(node);
  }
  checkLab(ctx, nodes);
  return {
    name: str(root["name"]),
    prefix: root["prefix"] === undefined ? "clab" : str(root["prefix"]),
    file: ctx.doc.file,
    nodes,
    links,
    notes: [...ctx.notes],
    netnsLimits: ctx.netnsLimits,
  };
}

/** What holds for the lab as a whole: at most one node stands for the internet, one etcd when agents run. */
function checkLab(ctx: ResolveContext, nodes: readonly NodeSpec[]): void {
  const internets = nodes.filter((n) => n.internet !== undefined);
  if (internets.length > 1) {
    ctx.fail(
      ["topology", "nodes"],
      `only one node stands for the internet, found ${LABELS.internet} on ${
        internets.map((n) => n.name).join(", ")
      }`,
      true,
    );
  }
  const etcds = nodes.filter((n) => n.role === "etcd");
  if (nodes.some((n) => n.role === "node") && etcds.length !== 1) {
    ctx.fail(
      ["topology", "nodes"],
      etcds.length === 0
        ? `nodes run agents but no node has label ${LABELS.role}: etcd`
        : `only one etcd node is supported, found ${etcds.map((n) => n.name).join(", ")}`,
      true,
    );
  }
}

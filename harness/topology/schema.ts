/**
 * Validation against containerlab's own JSON schema (v0.79.0, `clab.schema.json` beside this file), with ajv's
 * errors turned into problems that name the file, line and field. containerlab's schema says "must match a schema
 * in anyOf" for any bad link; we validate a failing link again against the one link form it claims to be (by its
 * `type`, or the brief form without one) so the message names the real mistake.
 *
 * @module
 */
import AjvModule from "ajv";
import schema from "./clab.schema.json" with { type: "json" };
import type { Problem } from "./errors.ts";
import type { SourceDoc } from "./source.ts";

/** The containerlab version whose schema is embedded. */
export const CLAB_SCHEMA_VERSION = "0.79.0";

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}
type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

// deno-lint-ignore no-explicit-any
const Ajv = ((AjvModule as any).default ?? AjvModule) as new (opts: Record<string, unknown>) => {
  compile(s: unknown): Validate;
  getSchema(ref: string): Validate | undefined;
};

let compiled: { whole: Validate; ajv: InstanceType<typeof Ajv> } | undefined;
function validators() {
  if (!compiled) {
    const ajv = new Ajv({ strict: false, allErrors: true });
    compiled = { whole: ajv.compile(schema), ajv };
  }
  return compiled;
}

const LINK_DEFINITION: Record<string, string> = {
  veth: "link-type-veth",
  "veth-stitch": "link-type-veth-stitched",
  "mgmt-net": "link-type-mgmt-net",
  macvlan: "link-type-macvlan",
  host: "link-type-host",
  vxlan: "link-type-vxlan",
  "vxlan-stitch": "link-type-vxlan-stitched",
  dummy: "link-type-dummy",
};

function pathOf(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath.slice(1).split("/").map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~")).map((p) =>
    /^\d+$/.test(p) ? Number(p) : p
  );
}

function toProblem(doc: SourceDoc, base: (string | number)[], e: AjvError): Problem {
  const path = [...base, ...pathOf(e.instancePath)];
  if (e.keyword === "additionalProperties") {
    const key = String(e.params["additionalProperty"]);
    return doc.problem([...path, key], `unknown field "${key}" (not in containerlab's schema)`, {
      key: true,
    });
  }
  if (e.keyword === "required") {
    return doc.problem(path, `missing required field "${String(e.params["missingProperty"])}"`);
  }
  if (e.keyword === "enum") {
    const allowed = e.params["allowedValues"] as unknown[];
    const shown = allowed.length > 12 ? `${allowed.slice(0, 12).join(", ")}, …` : allowed.join(", ");
    return doc.problem(path, `must be one of ${shown}`);
  }
  return doc.problem(path, e.message ?? e.keyword);
}

/**
 * Validates a parsed topology against containerlab's JSON schema.
 *
 * @param doc the parsed file
 * @returns the problems found (empty when valid)
 */
/**
 * Whether containerlab itself refuses what the schema says: `containerlab validate` decodes the YAML into its Go
 * types, so its JSON schema's enums (the kinds and node types it knew when the schema was written: no
 * `cumulus_cvx`, not every SR-SIM type) are documentation, and a number or boolean where a string is wanted
 * (`type: 5132`) decodes into that string. Every file in containerlab's own lab-examples that it accepts must
 * pass here too.
 */
function enforcedByContainerlab(
  doc: SourceDoc,
  e: { keyword: string; instancePath: string; params: Record<string, unknown> },
): boolean {
  // An if/then branch (a kind's allowed types) fails through the enum inside it.
  if (e.keyword === "enum" || e.keyword === "if") return false;
  if (e.keyword === "type" && e.params["type"] === "string") {
    const v = e.instancePath.split("/").slice(1).reduce<unknown>(
      (
        o,
        k,
      ) => (o && typeof o === "object"
        ? (o as Record<string, unknown>)[k.replace(/~1/g, "/").replace(/~0/g, "~")]
        : undefined),
      doc.value,
    );
    return !(typeof v === "number" || typeof v === "boolean");
  }
  return true;
}

export function validateSchema(doc: SourceDoc): Problem[] {
  const { whole, ajv } = validators();
  if (whole(doc.value)) return [];
  const errors = whole.errors ?? [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const add = (p: Problem) => {
    const key = `${p.line}:${p.field}:${p.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      problems.push(p);
    }
  };
  const badLinks = new Set<number>();
  for (const e of errors) {
    const m = /^\/topology\/links\/(\d+)/.exec(e.instancePath);
    if (m) {
      badLinks.add(Number(m[1]));
      continue;
    }
    // A node is `null` or a node config; the null branch's complaints are noise.
    if (
      e.keyword === "oneOf" || e.keyword === "anyOf" || (e.keyword === "type" && e.params["type"] === "null")
    ) {
      continue;
    }
    if (!enforcedByContainerlab(doc, e)) continue;
    add(toProblem(doc, [], e));
  }
  const value = doc.value as { topology?: { links?: unknown[] } };
  for (const i of badLinks) {
    const link = value.topology?.links?.[i] as Record<string, unknown> | undefined;
    const type = link && typeof link === "object" ? link["type"] : undefined;
    const def = type === undefined ? "link-config-short" : LINK_DEFINITION[String(type)];
    if (!def) {
      add(doc.problem(["topology", "links", i, "type"], `unknown link type "${String(type)}"`));
      continue;
    }
    const v = ajv.getSchema(`https://containerlab.dev/clab.schema.json#/definitions/${def}`);
    if (v && !v(link)) {
      for (const e of v.errors ?? []) add(toProblem(doc, ["topology", "links", i], e));
    } else {
      add(doc.problem(["topology", "links", i], "does not match any containerlab link form"));
    }
  }
  return problems;
}

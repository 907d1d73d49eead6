/**
 * containerlab topologies: YAML → validated against containerlab's schema → resolved model, with errors that
 * name file, line and field, and refusal of what the netns runtime cannot honour.
 *
 * @module
 */
export * from "./errors.ts";
export * from "./model.ts";
export { expandEnv, refuseNetnsLimits, type ResolveOptions, resolveTopology } from "./resolve.ts";
export { DEFAULT_LINK_MTU } from "./resolve_links.ts";
export { CLAB_SCHEMA_VERSION, validateSchema } from "./schema.ts";
export { shellSplit } from "./shell_words.ts";
export { formatPath, parseSource, type SourceDoc } from "./source.ts";
export { absolute, readTopology } from "./read.ts";

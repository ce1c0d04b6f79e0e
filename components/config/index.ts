export * from "./model";
export { ConfigError, formatProblem } from "./errors";
export type { ConfigProblem } from "./errors";
export { parseModel, isHostname, splitAddress } from "./parse";
export type { ConfigInput } from "./parse";
export { KEYS, NAMESPACE } from "./keys";
export { DEFAULTS } from "./defaults";

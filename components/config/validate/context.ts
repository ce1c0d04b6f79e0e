/** What every per-area validator shares: the decoded values, the one problem list, key naming. */
import type { ProblemList } from "../errors";
import { KEYS, KeyName, NAMESPACE, RawValues } from "../keys";

export interface Ctx {
    /** Decoded, shape-checked values of the keys that were set (a key whose value failed to decode is absent). */
    readonly raw: RawValues;
    readonly problems: ProblemList;
    /** Top-level keys present in the stack config, including those whose value failed to decode. */
    readonly present: ReadonlySet<KeyName>;
    /** `homemail:exampleAddresses`: documentation addresses allowed. */
    readonly example: boolean;
}

/** The full key as the user writes it: `homemail:vps.publicIp`. */
export const key = (name: KeyName, path = ""): string => `${NAMESPACE}:${name}${path}`;

/**
 * Reports a required key that is not set. A key that is set but failed to decode already has its
 * own problem line, so it is not reported a second time as missing.
 */
export function requireSet(ctx: Ctx, name: KeyName): void {
    if (!ctx.present.has(name)) ctx.problems.add(key(name), "is required but not set", KEYS[name].example);
}

/**
 * Where a value came from, for messages: `homemail:wireguard.network` when the user set it, else
 * "the default <value> (homemail:wireguard.network is not set)", so a hint never blames a key the
 * user did not write.
 */
export function origin(userSet: boolean, fullKey: string, value: string): string {
    return userSet ? `${fullKey} (${value})` : `the default ${value} (${fullKey} is not set)`;
}


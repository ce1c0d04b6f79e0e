/**
 * The dev stack (Pulumi.dev.yaml) as config input and as Model, for tests. Variations of it are made
 * with {@link withConfig}, so every invalid-config case is "the example stack with one thing wrong".
 */
import { parseModel, ConfigInput, Model } from "../../components/config";
import { REPO_ROOT } from "../../scripts/lib/mockEngine";
import { readStackConfig } from "../../scripts/lib/stackFile";

export { REPO_ROOT };

/** Config map of a stack file in this repo (default: dev). */
export function stackInput(stack = "dev"): ConfigInput {
    const c = readStackConfig(REPO_ROOT, stack);
    return { values: c.values, secretKeys: c.secretKeys, project: c.project, stack };
}

export interface ConfigChange {
    /** Full key, e.g. `homemail:vps`. */
    readonly key: string;
    /** New value (objects/lists are JSON-encoded as Pulumi does), or undefined to remove the key. */
    readonly value: unknown;
    /** Mark the key as set with --secret. */
    readonly secret?: boolean;
}

/** The dev stack with some keys changed. Object values may be functions of the current value. */
export function withConfig(changes: readonly ConfigChange[], base: ConfigInput = stackInput()): ConfigInput {
    const values: Record<string, string> = { ...base.values };
    let secretKeys = [...base.secretKeys];
    for (const c of changes) {
        if (c.value === undefined) delete values[c.key];
        else values[c.key] = typeof c.value === "string" ? c.value : JSON.stringify(c.value);
        secretKeys = secretKeys.filter((k) => k !== c.key);
        if (c.secret) secretKeys.push(c.key);
    }
    return { ...base, values, secretKeys };
}

/** The current JSON value of a key in the dev stack, for "change one field" edits. */
export function devValue<T = Record<string, unknown>>(key: string): T {
    return JSON.parse(stackInput().values[key]) as T;
}

export function devModel(): Model {
    return parseModel(stackInput());
}

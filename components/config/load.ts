/**
 * The only place that reads Pulumi config. Everything else gets the Model (plain data) and, for
 * secrets, Outputs resolved here from the SecretRefs the model carries.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./errors";
import type { Model, SecretRef } from "./model";
import { parseModel } from "./parse";

/** Keys set with `--secret`, as the Pulumi language host (or the mock engine) passes them. */
function secretKeys(): string[] {
    const fromEnv = process.env.PULUMI_CONFIG_SECRET_KEYS;
    // The SDK keeps the list in its store (setAllConfig under mocks); the language host in the env.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    const all = Object.keys(pulumi.runtime.allConfig());
    const viaSdk = runtimeConfig.isConfigSecret ? all.filter((k) => runtimeConfig.isConfigSecret!(k)) : [];
    const viaEnv = fromEnv ? (JSON.parse(fromEnv) as string[]) : [];
    return [...new Set([...viaSdk, ...viaEnv])];
}

/**
 * Reads and validates the stack config once. On invalid config, throws a RunError whose message is
 * the list of problems (Pulumi prints it without a stack trace) before any resource is registered.
 */
export function loadModel(): Model {
    try {
        return parseModel({
            values: pulumi.runtime.allConfig(),
            secretKeys: secretKeys(),
            project: pulumi.getProject(),
            stack: pulumi.getStack(),
        });
    } catch (err) {
        if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
        throw err;
    }
}

/** The secret value a SecretRef names, as a secret Output (never a plain string). */
export function secretValue(ref: SecretRef): pulumi.Output<string> {
    const [namespace, key] = ref.configKey.split(":");
    const value = new pulumi.Config(namespace).requireSecret(key);
    if (ref.path === undefined) return value;
    const path = ref.path;
    return value.apply((text) => {
        const map = JSON.parse(text) as Record<string, string>;
        const hit = Object.keys(map).find((k) => k.toLowerCase() === path);
        if (hit === undefined) throw new pulumi.RunError(`${ref.configKey}: no entry for ${path}`);
        return map[hit];
    });
}

/**
 * Reads `Pulumi.<stack>.yaml` into the config map Pulumi would hand the program: every value a
 * string, objects and lists as JSON. Values set with `--secret` (encrypted `secure:` entries) cannot
 * be decrypted offline: they are listed as secret keys and take the value of the test-only fixture
 * for that key (tests/fixtures/stack-secrets.json) or a placeholder.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

export interface StackConfig {
    readonly project: string;
    readonly values: Record<string, string>;
    readonly secretKeys: string[];
}

function encode(value: unknown): string {
    return typeof value === "string" ? value : JSON.stringify(value);
}

function hasSecure(value: unknown): boolean {
    if (Array.isArray(value)) return value.some(hasSecure);
    if (value && typeof value === "object") {
        const o = value as Record<string, unknown>;
        return "secure" in o && Object.keys(o).length === 1 ? true : Object.values(o).some(hasSecure);
    }
    return false;
}

function replaceSecure(value: unknown, fixture: unknown): unknown {
    if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value && Object.keys(value).length === 1) {
        return fixture ?? "test-only-secret";
    }
    if (Array.isArray(value)) return value.map((v, i) => replaceSecure(v, Array.isArray(fixture) ? fixture[i] : undefined));
    if (value && typeof value === "object") {
        const f = (fixture ?? {}) as Record<string, unknown>;
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceSecure(v, f[k])]));
    }
    return value;
}

export function readStackConfig(root: string, stack: string): StackConfig {
    const projectFile = path.join(root, "Pulumi.yaml");
    const project = (parse(readFileSync(projectFile, "utf8")) as { name: string }).name;
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    if (!existsSync(stackFile)) {
        throw new Error(`no stack file ${path.relative(root, stackFile)}: create it with \`pulumi stack init ${stack}\` and \`pulumi config set ...\``);
    }
    const doc = (parse(readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const fixturesFile = path.join(root, "tests", "fixtures", "stack-secrets.json");
    const fixtures = existsSync(fixturesFile) ? (JSON.parse(readFileSync(fixturesFile, "utf8")) as Record<string, unknown>) : {};
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [rawKey, value] of Object.entries(doc.config ?? {})) {
        const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
        if (hasSecure(value)) {
            secretKeys.push(key);
            values[key] = encode(replaceSecure(value, fixtures[key]));
        } else {
            values[key] = encode(value);
        }
    }
    return { project, values, secretKeys: secretKeys.sort() };
}

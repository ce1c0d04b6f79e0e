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

/**
 * A stack file that cannot be read as Pulumi would: missing, not YAML, duplicate keys, tabs, an
 * alias bomb, or no `config:` mapping. One line, naming the file; the CLIs exit 2 on it.
 */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

/** Pulumi's stack names: letters, digits, `-`, `_`, `.`; homemail also wants a letter or digit first (never `.` or `..`). */
export function isStackName(name: string): boolean {
    return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name);
}

/** The YAML document of a file; refuses duplicate keys and more than 100 aliases (yaml's limits, made explicit). */
function parseYamlFile(file: string, shown: string): unknown {
    try {
        return parse(readFileSync(file, "utf8"), { uniqueKeys: true, maxAliasCount: 100 });
    } catch (err) {
        const first = (err instanceof Error ? err.message : String(err)).split("\n")[0].replace(/:$/, "");
        throw new StackFileError(`${shown} is not valid YAML: ${first}`);
    }
}

export function readStackConfig(root: string, stack: string): StackConfig {
    if (!isStackName(stack)) throw new StackFileError(`"${stack}" is not a stack name (letters, digits, - _ . and a letter or digit first)`);
    const projectFile = path.join(root, "Pulumi.yaml");
    const project = (parseYamlFile(projectFile, "Pulumi.yaml") as { name: string }).name;
    const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
    const shown = path.relative(root, stackFile);
    if (!existsSync(stackFile)) {
        throw new StackFileError(`no stack file ${shown}: create it with \`pulumi stack init ${stack}\` and \`pulumi config set ...\``);
    }
    const doc = (parseYamlFile(stackFile, shown) ?? {}) as { config?: Record<string, unknown> };
    if (typeof doc !== "object" || Array.isArray(doc) || (doc.config !== undefined && (doc.config === null || typeof doc.config !== "object" || Array.isArray(doc.config)))) {
        throw new StackFileError(`${shown}: "config" must be a mapping of keys to values`);
    }
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

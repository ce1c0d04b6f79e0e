/**
 * Step 1 of parsing: every config key of every namespace is looked at. `homemail:` values are
 * decoded by their encoding, their text checked (validate/text.ts) and their shape checked (keys.ts);
 * unknown keys, fields and namespaces get their suggestion from the one function in suggest.ts.
 */
import type { z } from "zod";
import type { ProblemList } from "./errors";
import { KEYS, KeyName, KeySpec, NAMESPACE, RawValues } from "./keys";
import { didYouMean, unknownNameFix } from "./suggest";
import { checkAllText } from "./validate/text";

/**
 * Namespaces this program reads: its own, and those of the providers it uses (their credentials and
 * settings), and Pulumi's own. Any other namespace is a typo (`homemial:dmarc`) that would be ignored.
 */
export const READ_NAMESPACES = [NAMESPACE, "cloudflare", "command", "docker", "pulumi", "random", "tls"] as const;

export interface Decoded {
    readonly raw: RawValues;
    /** Keys present in the config, whether or not their value decoded. */
    readonly present: ReadonlySet<KeyName>;
}

function zodPath(path: readonly PropertyKey[]): string {
    return path.map((p) => (typeof p === "number" ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(String(p)) ? `.${String(p)}` : `["${String(p)}"]`)).join("");
}

interface SchemaDef {
    readonly type: string;
    readonly shape?: Record<string, z.ZodType>;
    readonly element?: z.ZodType;
    readonly innerType?: z.ZodType;
    readonly valueType?: z.ZodType;
}
const defOf = (s: z.ZodType) => (s as unknown as { def: SchemaDef }).def;

/** The field names of the object schema at `path` inside `schema` (for suggestions). */
export function fieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
    let s: z.ZodType | undefined = schema;
    let i = 0;
    while (s) {
        const def = defOf(s);
        if (def.type === "optional" || def.type === "default" || def.type === "nullable") s = def.innerType;
        else if (i === path.length) return def.type === "object" ? Object.keys(def.shape ?? {}) : [];
        else if (def.type === "object") s = def.shape?.[String(path[i++])];
        else if (def.type === "array") (s = def.element), i++;
        else if (def.type === "record") (s = def.valueType), i++;
        else return [];
    }
    return [];
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
    return path.reduce<unknown>((v, p) => (v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined), value);
}

/** One problem per zod issue, in the user's terms. */
function shapeProblems(problems: ProblemList, fullKey: string, spec: KeySpec, value: unknown, issues: readonly z.core.$ZodIssue[]): void {
    for (const issue of issues) {
        const where = fullKey + zodPath(issue.path);
        if (issue.code === "unrecognized_keys") {
            const fields = fieldsAt(spec.schema, issue.path);
            for (const field of issue.keys) {
                const suggestions = didYouMean(field, fields).map((f) => `${where}.${f}`);
                problems.add(`${where}.${field}`, `is not a field of ${where} (it has ${fields.join(", ")})`, unknownNameFix(suggestions, `remove it`));
            }
            continue;
        }
        const got = valueAt(value, issue.path);
        if (issue.code === "invalid_type" && got === undefined) problems.add(where, "is required but not set", spec.example);
        else if (issue.code === "invalid_type" && issue.expected === "string" && typeof got === "number") {
            problems.add(where, `is the number ${got}, not text (YAML reads an unquoted run of digits as a number, dropping leading zeros)`, "quote the value in the stack file, e.g. \"0123456789abcdef0123456789abcdef\"");
        } else problems.add(where, issue.message.replace(/^Invalid input: /, ""), spec.example);
    }
}

/** The value of one known key, decoded by its encoding; undefined after a problem. */
function decodeValue(problems: ProblemList, fullKey: string, spec: KeySpec, text: string): { value: unknown } | undefined {
    if (spec.encoding === "boolean") {
        if (text === "true" || text === "false") return { value: text === "true" };
        problems.add(fullKey, `must be true or false, got "${text}"`, spec.example);
        return undefined;
    }
    if (spec.encoding === "number") return { value: Number(text) };
    if (spec.encoding === "string") return { value: text };
    try {
        return { value: JSON.parse(text) as unknown };
    } catch {
        problems.add(fullKey, "is not a structured value (YAML object or list)", spec.example);
        return undefined;
    }
}

/** A key outside the namespaces this program reads: refused with the nearest namespace's key. */
function unknownNamespace(problems: ProblemList, fullKey: string, ns: string, name: string): void {
    const near = didYouMean(ns, READ_NAMESPACES).map((n) => `${n}:${name}`);
    problems.add(fullKey, `is in namespace "${ns}", which this program does not read (it reads ${READ_NAMESPACES.join(", ")})`, unknownNameFix(near, `remove it: pulumi config rm ${fullKey}`));
}

export function decode(values: Readonly<Record<string, string>>, secretKeys: readonly string[], problems: ProblemList): Decoded {
    const raw: Record<string, unknown> = {};
    const present = new Set<KeyName>();
    const known = Object.keys(KEYS);
    for (const [fullKey, text] of Object.entries(values).sort(([a], [b]) => a.localeCompare(b))) {
        const colon = fullKey.indexOf(":");
        const [ns, name] = colon < 0 ? ["", fullKey] : [fullKey.slice(0, colon), fullKey.slice(colon + 1)];
        if (ns !== NAMESPACE) {
            if (!(READ_NAMESPACES as readonly string[]).includes(ns)) unknownNamespace(problems, fullKey, ns, name);
            continue;
        }
        const spec: KeySpec | undefined = (KEYS as Record<string, KeySpec>)[name];
        if (!spec) {
            const near = didYouMean(name, known).map((n) => `${NAMESPACE}:${n}`);
            problems.add(fullKey, "is not a homemail setting", unknownNameFix(near, `remove it: pulumi config rm ${fullKey}`));
            continue;
        }
        present.add(name as KeyName);
        const secret = secretKeys.includes(fullKey);
        if (spec.secret === "required" && !secret) {
            problems.add(fullKey, "holds a secret but was set in plain text", `set it again with --secret: ${spec.example}`);
            continue;
        }
        const decoded = decodeValue(problems, fullKey, spec, text);
        if (!decoded) continue;
        const before = problems.all.length;
        checkAllText(problems, fullKey, name, decoded.value, secret);
        if (problems.all.length > before) continue;
        const result = spec.schema.safeParse(decoded.value);
        if (result.success) raw[name] = result.data;
        else shapeProblems(problems, fullKey, spec, decoded.value, result.error.issues);
    }
    return { raw: raw as RawValues, present };
}

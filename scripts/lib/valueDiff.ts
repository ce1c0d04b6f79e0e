/**
 * Field-level differences between two JSON values, as dotted paths (`inputs.triggers[0]`), so a
 * reviewer reads "what changed" instead of two whole objects. Pure.
 */

/** One changed leaf. `undefined` on a side means the field is absent there. */
export interface FieldChange {
    readonly path: string;
    readonly before?: unknown;
    readonly after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Deep equality of JSON values; object key order does not matter. */
export function sameValue(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
    if (isObject(a) && isObject(b)) {
        const keys = Object.keys(a);
        return keys.length === Object.keys(b).length && keys.every((k) => k in b && sameValue(a[k], b[k]));
    }
    return false;
}

function join(path: string, key: string | number): string {
    if (typeof key === "number") return `${path}[${key}]`;
    const step = /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key) ? key : JSON.stringify(key);
    return path === "" ? step : /^[A-Za-z_$]/.test(step) ? `${path}.${step}` : `${path}[${step}]`;
}

/**
 * The leaves that differ, sorted by path. Objects are compared key by key; arrays of the same length
 * element by element; anything else (including arrays that grew or shrank) as a whole.
 */
export function fieldChanges(before: unknown, after: unknown, path = ""): FieldChange[] {
    if (sameValue(before, after)) return [];
    if (isObject(before) && isObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        return keys.flatMap((k) => fieldChanges(before[k], after[k], join(path, k)));
    }
    if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
        return before.flatMap((x, i) => fieldChanges(x, after[i], join(path, i)));
    }
    return [{ path, before, after }];
}

/** Every leaf of a value with its path (empty objects and arrays are leaves), sorted by path. */
export function leaves(value: unknown, path = ""): { path: string; value: unknown }[] {
    if (isObject(value) && Object.keys(value).length > 0) {
        return Object.keys(value)
            .sort()
            .flatMap((k) => leaves(value[k], join(path, k)));
    }
    if (Array.isArray(value) && value.length > 0) return value.flatMap((x, i) => leaves(x, join(path, i)));
    return [{ path, value }];
}

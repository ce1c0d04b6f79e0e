/**
 * Marks the values of an offline render that come from the mock engine's test-only fixtures, so that
 * nobody mistakes a fixture DS, DKIM key or WireGuard key for a real one. Values are never changed
 * (zone files, named-checkzone, the DKIM verifiers and the labs use them): an object holding one gets
 * `fixture: true`, and outputs.json gets a banner and the path of every such value.
 */
import type { FixtureMarker } from "./mockEngine";

/** The first key of outputs.json (sorted before every output name): what the marks mean. */
export const FIXTURE_BANNER_KEY = "_banner";
/** The outputs.json key listing the path of every fixture-derived value. */
export const FIXTURE_PATHS_KEY = "_fixtureValues";
/** The field added to every object (output object, DNS record) that holds a fixture-derived value. */
export const FIXTURE_FIELD = "fixture";

export const FIXTURE_BANNER =
    "OFFLINE RENDER (npm run render, Pulumi mock engine): values at the paths in _fixtureValues, in objects " +
    "marked fixture: true, are TEST-ONLY FIXTURES from tests/fixtures/, not what pulumi up makes. Every zone " +
    "shows the same fixture DNSSEC DS and every domain the same fixture DKIM key; never publish them.";

/** What a string is, if fixture-derived. */
export function fixtureOf(value: string, markers: readonly FixtureMarker[]): FixtureMarker | undefined {
    return markers.find((m) => (m.match === "equals" ? value === m.text : value.includes(m.text)));
}

/** True when any string inside `value` (at any depth) is fixture-derived. */
export function holdsFixture(value: unknown, markers: readonly FixtureMarker[]): boolean {
    if (typeof value === "string") return fixtureOf(value, markers) !== undefined;
    if (Array.isArray(value)) return value.some((v) => holdsFixture(v, markers));
    if (value && typeof value === "object") return Object.values(value).some((v) => holdsFixture(v, markers));
    return false;
}

/**
 * `value` with `fixture: true` on every object one of whose fields is (or is a list of strings
 * holding) a fixture-derived string, and the path of every such string (`dkim[0].value`).
 */
export function markFixtures(value: unknown, markers: readonly FixtureMarker[], at = ""): { value: unknown; paths: string[] } {
    if (typeof value === "string") return { value, paths: fixtureOf(value, markers) ? [at] : [] };
    if (Array.isArray(value)) {
        const items = value.map((v, i) => markFixtures(v, markers, `${at}[${i}]`));
        return { value: items.map((x) => x.value), paths: items.flatMap((x) => x.paths) };
    }
    if (value && typeof value === "object") {
        const entries = Object.entries(value).map(([k, v]) => [k, v, markFixtures(v, markers, at ? `${at}.${k}` : k)] as const);
        const leafList = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null);
        const direct = entries.some(([, v]) => (typeof v === "string" || leafList(v)) && holdsFixture(v, markers));
        const marked: Record<string, unknown> = Object.fromEntries(entries.map(([k, , m]) => [k, m.value]));
        if (direct) marked[FIXTURE_FIELD] = true;
        return { value: marked, paths: entries.flatMap(([, , m]) => m.paths) };
    }
    return { value, paths: [] };
}

/** outputs.json's content: the banner, the fixture paths, and the outputs with their objects marked. */
export function markedOutputs(outputs: Record<string, unknown>, markers: readonly FixtureMarker[]): Record<string, unknown> {
    // Each output on its own: the top level is the stack's namespace, where `fixture` would read as an output.
    const each = Object.entries(outputs).map(([name, v]) => [name, markFixtures(v, markers, name)] as const);
    const marked = Object.fromEntries(each.map(([name, m]) => [name, m.value]));
    const paths = each.flatMap(([, m]) => m.paths).sort();
    if (paths.length === 0) return marked;
    return { [FIXTURE_BANNER_KEY]: FIXTURE_BANNER, [FIXTURE_PATHS_KEY]: paths, ...marked };
}

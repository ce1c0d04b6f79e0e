/**
 * The one "did you mean" of the config layer: unknown top-level keys, unknown fields inside an
 * object value and unknown config namespaces all get their suggestion here.
 */

/** Edit distance (insert, delete, substitute one character). */
export function editDistance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const current = [i];
        for (let j = 1; j <= b.length; j++) {
            current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
        previous = current;
    }
    return previous[b.length];
}

/**
 * The candidates closest to `name` (case-insensitive), if any is close enough to be a typo: at most
 * one edit for names up to 4 characters, two up to 8, three beyond. Sorted by distance, then name.
 */
export function didYouMean(name: string, candidates: readonly string[]): string[] {
    const wanted = name.toLowerCase();
    const limit = wanted.length <= 4 ? 1 : wanted.length <= 8 ? 2 : 3;
    const scored = candidates
        .map((c) => ({ c, d: editDistance(wanted, c.toLowerCase()) }))
        .filter((x) => x.d <= limit)
        .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
    const best = scored[0]?.d;
    return scored.filter((x) => x.d === best).map((x) => x.c);
}

/** The fix text for an unknown name: "did you mean X?" or the removal command. */
export function unknownNameFix(suggestions: readonly string[], removal: string): string {
    return suggestions.length ? `did you mean ${suggestions.join(" or ")}?` : removal;
}

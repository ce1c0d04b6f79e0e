/** What the project's command lines share: a usage error (exit 2, one line) and reading a flag's value. */
export class UsageError extends Error {}

/** The value after `argv[index]` (the flag); a missing value or another flag there is a usage error. */
export function flagValue(argv: readonly string[], index: number): string {
    const v = argv[index + 1];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${argv[index]} needs a value`);
    return v;
}

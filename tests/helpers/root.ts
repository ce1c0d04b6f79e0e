/**
 * Root-only test layers (labs, e2e) run in CI, which is root. Elsewhere they skip with a clear
 * message instead of failing half-way through `ip netns add`.
 */
export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** `describe` for root-only suites: skipped (with a note on stderr) when not root. */
export function describeRoot(title: string, body: () => void): void {
    if (!isRoot) {
        process.stderr.write(`SKIP ${title}: needs root (network namespaces, iptables); CI runs it as root\n`);
        describe.skip(title, body);
        return;
    }
    describe(title, body);
}

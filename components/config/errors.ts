/** One problem in the stack config: which key, what is wrong, how to fix it. */
export interface ConfigProblem {
    /** The key as written in the stack file, with a path inside object values: `homemail:vps.publicIp`. */
    readonly key: string;
    /** What is wrong, in the user's terms. */
    readonly problem: string;
    /** What to do about it (a command or a value). */
    readonly fix: string;
}

/** Formats one problem as the single line the user sees. */
export function formatProblem(p: ConfigProblem): string {
    return `${p.key}: ${p.problem}. Fix: ${p.fix}`;
}

/**
 * Raised when the stack config is invalid. Carries every problem found, so the user fixes them all in
 * one round. The message is the list of one-line problems, nothing else.
 */
export class ConfigError extends Error {
    readonly problems: readonly ConfigProblem[];
    constructor(problems: readonly ConfigProblem[]) {
        super(
            `homemail: the stack config has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n` +
                problems.map((p) => `  - ${formatProblem(p)}`).join("\n"),
        );
        this.name = "ConfigError";
        this.problems = problems;
    }
}

/** Collects problems while parsing; keeps their order of discovery. */
export class ProblemList {
    private readonly items: ConfigProblem[] = [];
    add(key: string, problem: string, fix: string): void {
        this.items.push({ key, problem, fix });
    }
    get all(): readonly ConfigProblem[] {
        return this.items;
    }
    get empty(): boolean {
        return this.items.length === 0;
    }
}

/**
 * What a doctor check is: an id, an area, what it needs to have passed first, and a probe that says
 * ok / warn / fail (a fail always carries a one-line fix naming the exact value or command).
 * Pure types and constructors: no I/O.
 */

/** Areas, in the order the report lists them when nothing fails. */
export const AREAS = ["dns", "dnssec", "identity", "tls", "web", "blocklist", "inside", "exposure", "drift"] as const;
export type Area = (typeof AREAS)[number];

export type Status = "ok" | "warn" | "fail" | "skipped";

/** What a probe found. */
export type Finding =
    | { readonly status: "ok"; readonly detail: string }
    | { readonly status: "warn"; readonly detail: string; readonly fix?: string }
    | { readonly status: "fail"; readonly detail: string; readonly fix: string }
    | { readonly status: "skipped"; readonly detail: string };

export const ok = (detail: string): Finding => ({ status: "ok", detail });
export const warn = (detail: string, fix?: string): Finding => ({ status: "warn", detail, ...(fix ? { fix } : {}) });
export const fail = (detail: string, fix: string): Finding => ({ status: "fail", detail, fix });
export const skipped = (detail: string): Finding => ({ status: "skipped", detail });

export interface Check<C> {
    /** `<area>.<what>[:<item>]`, e.g. `dns.spf:example.com`: stable, used by --only/--skip and in "depends on". */
    readonly id: string;
    readonly area: Area;
    /** What it verifies, in the user's terms. */
    readonly title: string;
    /**
     * Checks that must have run and passed (ok or warn) first; when one did not, this one is
     * "skipped: depends on <id>". A needed check left out by --only/--skip skips this one too.
     */
    readonly needs?: readonly string[];
    /**
     * Checks that, when they ran and did not pass, explain this one's failure in advance (the tunnel
     * for the SMTP banner): skipped then, but run as usual when they were left out.
     */
    readonly after?: readonly string[];
    /** Needs the stack outputs (values only providers know); "skipped: no outputs" without them. */
    readonly needsOutputs?: boolean;
    readonly run: (ctx: C) => Promise<Finding>;
}

/** One line of the report. */
export interface Result {
    readonly id: string;
    readonly area: Area;
    readonly title: string;
    readonly status: Status;
    readonly detail: string;
    readonly fix?: string;
    /** The check whose failure made this one skip. */
    readonly dependsOn?: string;
    readonly ms: number;
}

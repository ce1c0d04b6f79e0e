/**
 * Host plans: everything homemail does on a host, as data. A renderer returns, per host, the files it
 * puts there and the steps it runs, each with what it re-runs on, what it runs after, how a change
 * applies and what undoes it. One executor (components/hostPlan.ts) turns a plan into remote
 * commands; nothing else builds one.
 *
 * Pure: no @pulumi import, no I/O, no clock.
 */
import type { HostFile, HostName } from "./hostFile";

/**
 * How a change of a step's re-run inputs applies (pulumi-command: a `triggers` change replaces the
 * resource, any other input change updates it; a replacement runs the new create, then the old
 * delete, unless `deleteBeforeReplace`):
 * - `in-place`: the step runs again (its `update`); nothing is undone. For idempotent steps whose undo
 *   would tear down what the re-run keeps (compose up, firewall enable, file installs).
 * - `replace`: the new create runs, then the old undo. Only for steps whose undo does not touch what
 *   the create made (read-only checks, reloads, steps kept on destroy).
 * - `undo-first`: the old undo runs, then the new create. For steps whose create must start from the
 *   state before them (egress enable replays its ledger first; wg-quick down then up).
 */
export type ChangeStrategy = "in-place" | "replace" | "undo-first";
export const CHANGE_STRATEGIES: readonly ChangeStrategy[] = ["in-place", "replace", "undo-first"];

/** Undo kinds that reverse what the step's create made on the host. */
export type ReversingUndoKind = "stop-service" | "replay-ledger" | "remove-file" | "restore-setting";
export const REVERSING_UNDO_KINDS: readonly ReversingUndoKind[] = ["stop-service", "replay-ledger", "remove-file", "restore-setting"];

/**
 * What `pulumi destroy` (or removing the step) does on the host.
 * - `stop-service`: stops (and disables) what the create started; `command` does it.
 * - `replay-ledger`: a host script undoes exactly what its ledger recorded.
 * - `remove-file`: deletes the file(s) the create installed.
 * - `restore-setting`: puts a kernel or system setting back to what the host's own config says.
 * - `kept-on-destroy`: the step's effect stays, on purpose; `reason` says why (user data, keys...).
 * - `nothing-to-undo`: the step only reads or nudges a running service; `reason` says so.
 */
export type StepUndo =
    | { readonly kind: ReversingUndoKind; readonly command: string }
    | { readonly kind: "kept-on-destroy" | "nothing-to-undo"; readonly reason: string };

/** The undo of a host file: removed on destroy, or kept with a reason. */
export type FileUndo = { readonly kind: "remove-file" } | { readonly kind: "kept-on-destroy"; readonly reason: string };

/** One command run on a host. */
export interface HostStep {
    /** Resource role: the executor names the step `${name}-<role>`. Example: `hub-up`. */
    readonly role: string;
    /**
     * The command, run as root: a fixed string or `bash -s` with a fixed asset on stdin. Never holds a
     * secret or file content (a failing command's whole text lands in the error).
     */
    readonly command: string;
    /** Text sent on stdin (an asset, or a placeholder the executor fills with a secret). */
    readonly stdin?: string;
    /** Content hashes (sha256 hex) of what the step depends on: a change re-runs it. */
    readonly rerunOn: readonly string[];
    /** Roles of files of the same plan whose content, as sent, re-runs the step (secret ones too). */
    readonly rerunOnFiles?: readonly string[];
    /** Re-run when the stdin, as sent (secrets filled in), changes. */
    readonly rerunOnStdin?: boolean;
    /** Roles in this plan, or names of outside resources given to the executor, that run first. */
    readonly after: readonly string[];
    readonly undo: StepUndo;
    readonly strategy: ChangeStrategy;
    /** The first step on a host: retries until SSH answers (a fresh VPS may still be booting). */
    readonly waitsForHost?: boolean;
}

/** One file put on a host (through the fixed install step, content on stdin). */
export interface PlannedFile {
    /** Resource role; default `file-<path slug>`. */
    readonly role?: string;
    readonly file: HostFile;
    readonly after: readonly string[];
    readonly undo: FileUndo;
}

/** Everything one component does on one host. */
export interface HostPlan {
    readonly host: HostName;
    readonly files: readonly PlannedFile[];
    readonly steps: readonly HostStep[];
}

/** A resource-name-safe slug of a host path: `/etc/wireguard/wg0.conf` -> `etc-wireguard-wg0.conf`. */
/**
 * The first step on a host: wait until SSH (and, for a non-root user, passwordless sudo) answers;
 * the executor runs it with unlimited dial retries, and every other step of the host runs after it.
 */
export function sshWaitStep(role: string): HostStep {
    return {
        role,
        command: "true",
        rerunOn: [],
        after: [],
        strategy: "in-place",
        waitsForHost: true,
        undo: { kind: "nothing-to-undo", reason: "only proves that SSH (and passwordless sudo) answers" },
    };
}

export function pathSlug(path: string): string {
    return path.replace(/^\/+/, "").replace(/[^A-Za-z0-9._-]+/g, "-");
}

export function fileRole(f: PlannedFile): string {
    return f.role ?? `file-${pathSlug(f.file.path)}`;
}

/** A step or a file of a plan, in the order the executor registers them. */
export type PlanEntry = { readonly kind: "file"; readonly role: string; readonly file: PlannedFile } | { readonly kind: "step"; readonly role: string; readonly step: HostStep };

/**
 * The plan's entries in run order: every entry after what it names in `after` (ties keep the
 * declaration order: files first, then steps). Throws on a duplicate role, a cycle, or an `after`
 * that is neither a role of the plan nor one of `outside`.
 */
export function orderPlan(plan: HostPlan, outside: readonly string[] = []): PlanEntry[] {
    const entries: PlanEntry[] = [
        ...plan.files.map((f): PlanEntry => ({ kind: "file", role: fileRole(f), file: f })),
        ...plan.steps.map((s): PlanEntry => ({ kind: "step", role: s.role, step: s })),
    ];
    const roles = new Set<string>();
    for (const e of entries) {
        if (roles.has(e.role)) throw new Error(`host plan (${plan.host}): role ${e.role} appears twice`);
        roles.add(e.role);
    }
    const afterOf = (e: PlanEntry) => (e.kind === "file" ? e.file.after : e.step.after);
    for (const e of entries) {
        for (const a of afterOf(e)) {
            if (!roles.has(a) && !outside.includes(a)) throw new Error(`host plan (${plan.host}): ${e.role} runs after ${a}, which is neither in the plan nor given`);
        }
        if (e.kind === "step") {
            for (const f of e.step.rerunOnFiles ?? []) {
                const target = entries.find((x) => x.role === f);
                if (target?.kind !== "file") throw new Error(`host plan (${plan.host}): ${e.role} re-runs on ${f}, which is not a file of the plan`);
            }
        }
    }
    const done = new Set<string>();
    const ordered: PlanEntry[] = [];
    while (ordered.length < entries.length) {
        const next = entries.find((e) => !done.has(e.role) && afterOf(e).every((a) => done.has(a) || !roles.has(a)));
        if (!next) throw new Error(`host plan (${plan.host}): the "after" relations form a cycle`);
        done.add(next.role);
        ordered.push(next);
    }
    return ordered;
}

/**
 * Refuses the combinations that cannot be right, before any resource exists: `replace` runs the old
 * undo after the new create, so an undo that stops or removes what the create made would undo the
 * new step (the WireGuard bug: wg0 down after every conf change). Also: a kept/nothing undo needs a
 * reason, a reversing undo a command.
 */
export function assertStepSound(where: string, step: Pick<HostStep, "strategy" | "undo">): void {
    const { strategy, undo } = step;
    if (!CHANGE_STRATEGIES.includes(strategy)) throw new Error(`${where}: unknown change strategy ${String(strategy)}`);
    if (isReversing(undo)) {
        if (!undo.command.trim()) throw new Error(`${where}: undo ${undo.kind} has no command`);
        if (strategy === "replace") {
            throw new Error(
                `${where}: strategy "replace" runs the old undo (${undo.kind}) after the new create, which would undo the new step; use "undo-first" or "in-place"`,
            );
        }
    } else if (!undo.reason.trim()) {
        throw new Error(`${where}: undo ${undo.kind} needs a reason`);
    }
}

export function isReversing(undo: StepUndo): undo is Extract<StepUndo, { command: string }> {
    return (REVERSING_UNDO_KINDS as readonly string[]).includes(undo.kind);
}

/** What the executor records per step for `out/<stack>/steps.json` (no secret: hashes of secrets redacted). */
export interface StepRecord {
    readonly host: HostName;
    /** The resource name, `${name}-<role>`. */
    readonly name: string;
    readonly role: string;
    /** `file` for a host-file install, else `step`. */
    readonly kind: "file" | "step";
    /** The command as planned (before sudo); for files, the host path. */
    readonly command?: string;
    readonly path?: string;
    readonly strategy: ChangeStrategy;
    /** Content hashes it re-runs on (files: the content's). */
    readonly rerunOn: readonly string[];
    /** Resource names that run first. */
    readonly after: readonly string[];
    readonly undo: { readonly kind: StepUndo["kind"]; readonly command?: string; readonly reason?: string };
    /** True for the host's first step, which retries until SSH answers. */
    readonly waitsForHost?: boolean;
}

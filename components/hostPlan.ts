/**
 * The executor: the one place that turns a host plan (components/render/hostPlan.ts) into remote
 * commands. It alone builds the SSH connection, runs commands as root (`asRoot`), names children
 * `${name}-<role>`, sets `dependsOn` and maps each step's change strategy to pulumi-command's
 * options (the table in {@link commandShape}). Components call a renderer, then this.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import type { SshTarget } from "./config/model";
import { secretValue } from "./config/load";
import { asRoot, fileHeaderLine, fillTemplate, installFileScript, SecretTemplate, sha256, shellQuote, stdinTemplate, templateSecrets } from "./render/hostFile";
import { ChangeStrategy, HostPlan, PlanEntry, StepRecord, StepUndo, assertStepSound, isReversing, orderPlan } from "./render/hostPlan";

/** Where a plan runs: the component (parent, name prefix) and the host's SSH access. */
export interface HostTarget {
    /** Prefix of every child: `${name}-<role>`. */
    readonly name: string;
    readonly parent: pulumi.Resource;
    readonly ssh: SshTarget;
}

export interface ExecuteOptions {
    /**
     * The same plan with values known only at deploy time (public keys, image digests), and the roles
     * whose content depends on them; every other entry is taken from the static plan (so it does not
     * wait for, or depend on, those values). Checked when it resolves: same shape, and the entries
     * not listed equal the static ones.
     */
    readonly live?: { readonly plan: pulumi.Output<HostPlan>; readonly roles: readonly string[] };
    /** Values of the secret placeholders in files and stdin, by placeholder name. */
    readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Resources outside the plan that `after` may name (image pulls, another plan's steps). */
    readonly outside?: Readonly<Record<string, pulumi.Resource>>;
}

export interface ExecutedPlan {
    /** Every command, by role. */
    readonly commands: Readonly<Record<string, command.remote.Command>>;
    /** Per entry, in run order, what `out/<stack>/steps.json` shows (secret hashes as `[secret]`). */
    readonly records: pulumi.Output<StepRecord[]>;
}

/** The text that stands for a secret-derived hash in records. */
export const SECRET_HASH = "[secret]";
/** First line of an in-place step: its re-run hashes ride in the command, not in `triggers`. */
export const CONTENT_HEADER = "# homemail content sha256: ";
/** Stdin line of an in-place step whose re-run inputs include secrets (hashes of secrets stay secret). */
export const SECRET_INPUTS_HEADER = "# homemail secret inputs sha256: ";

/**
 * SSH connection args for a host. The one place a connection is built: a pinned `hostKey` goes here.
 * The private key (if any) stays a secret, else the ssh-agent is used.
 */
function sshConnection(ssh: SshTarget, waitForever: boolean): command.types.input.remote.ConnectionArgs {
    return {
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        ...(ssh.privateKey ? { privateKey: secretValue(ssh.privateKey) } : {}),
        // Checked on every connection (golang.org/x/crypto/ssh FixedHostKey): secrets go on stdin.
        ...(ssh.hostKey ? { hostKey: ssh.hostKey } : {}),
        // -1 retries until the host answers: used once per host so a fresh VPS can finish booting.
        ...(waitForever ? { dialErrorLimit: -1 } : {}),
    };
}

/** The options of one remote command, from its strategy (pure; the table test reads this). */
export interface CommandShape {
    readonly create: string;
    readonly update?: string;
    readonly delete?: string;
    readonly triggers?: readonly string[];
    readonly deleteBeforeReplace: boolean;
    /** In-place only: a stdin line carrying the secret re-run hashes. */
    readonly stdinHashes?: string;
}

export interface CommandParts {
    readonly strategy: ChangeStrategy;
    readonly sshUser: string;
    /** A machine-readable first line (a host file's header), kept in front of everything. */
    readonly header?: string;
    /** The planned command (run as root). */
    readonly command: string;
    /** The undo's command, when the undo reverses the create. */
    readonly undoCommand?: string;
    /** Plain re-run hashes. */
    readonly hashes: readonly string[];
    /** Re-run hashes derived from secrets. */
    readonly secretHashes?: readonly string[];
    /** Ends the command with a newline (file installs always have). */
    readonly trailingNewline?: boolean;
}

/**
 * Strategy -> options:
 * - in-place: no triggers; the hashes are the first line of create (= update), so a change is an
 *   update that runs the command again; secret hashes go to stdin; delete = undo.
 * - replace: triggers = hashes; delete = undo (never one that reverses the create: refused earlier).
 * - undo-first: triggers = hashes, deleteBeforeReplace; delete = undo.
 */
export function commandShape(p: CommandParts): CommandShape {
    const body = asRoot(p.sshUser, p.command) + (p.trailingNewline ? "\n" : "");
    const del = p.undoCommand === undefined ? {} : { delete: asRoot(p.sshUser, p.undoCommand) };
    const secretHashes = p.secretHashes ?? [];
    const header = p.header === undefined ? [] : [p.header];
    switch (p.strategy) {
        case "in-place": {
            const hashLine = p.hashes.length ? [`${CONTENT_HEADER}${p.hashes.join(" ")}`] : [];
            const create = [...header, ...hashLine, body].join("\n");
            return {
                create,
                update: create,
                ...del,
                deleteBeforeReplace: false,
                ...(secretHashes.length ? { stdinHashes: `${SECRET_INPUTS_HEADER}${secretHashes.join(" ")}\n` } : {}),
            };
        }
        case "replace":
        case "undo-first": {
            const all = [...p.hashes, ...secretHashes];
            return {
                create: [...header, body].join("\n"),
                ...del,
                ...(all.length ? { triggers: all } : {}),
                deleteBeforeReplace: p.strategy === "undo-first",
            };
        }
        default: {
            const never: never = p.strategy;
            throw new Error(`unknown strategy ${String(never)}`);
        }
    }
}

/** What of an entry must not differ between the static and the live plan. */
function shapeOf(e: PlanEntry): string {
    if (e.kind === "file") {
        const f = e.file.file;
        return JSON.stringify([e.role, "file", e.file.after, e.file.undo.kind, f.host, f.path, f.secret]);
    }
    const s = e.step;
    return JSON.stringify([e.role, "step", s.after, s.strategy, s.undo.kind, s.rerunOn.length, s.rerunOnFiles ?? [], Boolean(s.rerunOnStdin), Boolean(s.stdin), Boolean(s.waitsForHost)]);
}

function undoCommandOf(e: PlanEntry): string | undefined {
    if (e.kind === "file") return e.file.undo.kind === "remove-file" ? `rm -f -- ${shellQuote(e.file.file.path)}` : undefined;
    return isReversing(e.step.undo) ? e.step.undo.command : undefined;
}

function recordUndo(e: PlanEntry): StepRecord["undo"] {
    const undo: StepUndo | { kind: "remove-file"; command: string } | { kind: "kept-on-destroy"; reason: string } =
        e.kind === "file" ? (e.file.undo.kind === "remove-file" ? { kind: "remove-file", command: undoCommandOf(e)! } : e.file.undo) : e.step.undo;
    return "command" in undo ? { kind: undo.kind, command: undo.command } : { kind: undo.kind, reason: undo.reason };
}

/**
 * Registers every file and step of `plan` as a remote command, in run order. Throws (a programming
 * error, before any resource exists) on an unsound step, an unknown `after`, or a missing secret.
 */
export function executePlan(target: HostTarget, plan: HostPlan, opts: ExecuteOptions = {}): ExecutedPlan {
    const outside = opts.outside ?? {};
    const order = orderPlan(plan, Object.keys(outside));
    for (const e of order) {
        if (e.kind === "step") assertStepSound(`${target.name}-${e.role}`, e.step);
        else if (e.file.undo.kind === "kept-on-destroy" && !e.file.undo.reason.trim()) throw new Error(`${target.name}-${e.role}: kept-on-destroy needs a reason`);
    }
    const run: PlanRun = { target, plan, opts, outside, entryOf: liveEntries(target, plan, order, opts), commands: {}, secretFiles: new Set() };
    const records = order.map((e) => registerEntry(run, e));
    return { commands: run.commands, records: pulumi.all(records) };
}

/** What registering one plan shares between its entries. */
interface PlanRun {
    readonly target: HostTarget;
    readonly plan: HostPlan;
    readonly opts: ExecuteOptions;
    readonly outside: Readonly<Record<string, pulumi.Resource>>;
    readonly entryOf: (e: PlanEntry) => pulumi.Output<PlanEntry>;
    /** Registered so far, by role. */
    readonly commands: Record<string, command.remote.Command>;
    /** Roles of registered files whose content is secret. */
    readonly secretFiles: Set<string>;
}

/** Each entry as it will be at deploy: the live plan's for live roles, else the static one. */
function liveEntries(target: HostTarget, plan: HostPlan, order: PlanEntry[], opts: ExecuteOptions): (e: PlanEntry) => pulumi.Output<PlanEntry> {
    const liveRoles = new Set(opts.live?.roles ?? []);
    for (const r of liveRoles) if (!order.some((e) => e.role === r)) throw new Error(`${target.name} (${plan.host}): live role ${r} is not in the plan`);
    const live = opts.live?.plan.apply((p) => {
        const got = orderPlan(p, Object.keys(opts.outside ?? {}));
        if (got.map(shapeOf).join("\n") !== order.map(shapeOf).join("\n")) throw new Error(`${target.name} (${plan.host}): the deploy-time plan differs in shape from the static plan`);
        for (const [i, e] of got.entries()) {
            if (!liveRoles.has(e.role) && JSON.stringify(e) !== JSON.stringify(order[i])) throw new Error(`${target.name}-${e.role}: changes with deploy-time values but is not a live role`);
        }
        return new Map(got.map((e) => [e.role, e]));
    });
    return (e) => (live && liveRoles.has(e.role) ? live.apply((m) => m.get(e.role)!) : pulumi.output(e));
}

/** Registers one entry's command; returns its steps.json record. */
function registerEntry(run: PlanRun, e: PlanEntry): pulumi.Output<StepRecord> {
    const { target, outside, commands } = run;
    const name = `${target.name}-${e.role}`;
    const current = run.entryOf(e);
    const after = e.kind === "file" ? e.file.after : e.step.after;
    const stdin = stdinOf(run, e, current, name);
    if (e.kind === "file" && stdin.secret) run.secretFiles.add(e.role);
    const hashes = rerunHashes(run, e, current, name, stdin);

    const strategy: ChangeStrategy = e.kind === "file" ? "in-place" : e.step.strategy;
    const shapeWith = (c: PlanEntry, plain: string[], secret: string[] = []) =>
        commandShape({
            strategy,
            sshUser: target.ssh.user,
            header: c.kind === "file" ? fileHeaderLine(c.file.file) : undefined,
            command: c.kind === "file" ? installFileScript(c.file.file) : c.step.command,
            undoCommand: undoCommandOf(c),
            hashes: plain,
            secretHashes: secret,
            trailingNewline: c.kind === "file",
        });
    // The command strings come from the plain hashes only, so they never turn secret; the secret
    // hashes of an in-place step ride on stdin.
    const plainShape = pulumi.all([current, pulumi.all(hashes.plain)]).apply(([c, p]) => shapeWith(c, p));
    const inPlace = strategy === "in-place";
    if (inPlace && hashes.secret.length && stdin.value) throw new Error(`${name}: an in-place step with secret re-run inputs cannot also have stdin`);
    const stdinHashes = () =>
        pulumi.secret(pulumi.all([current, pulumi.all(hashes.plain), pulumi.all(hashes.secret)]).apply(([c, p, s]) => shapeWith(c, p, s).stdinHashes ?? ""));
    const args: command.remote.CommandArgs = {
        connection: sshConnection(target.ssh, e.kind === "step" && Boolean(e.step.waitsForHost)),
        create: plainShape.apply((s) => s.create),
        ...(inPlace ? { update: plainShape.apply((s) => s.update!) } : {}),
        ...(undoCommandOf(e) !== undefined ? { delete: plainShape.apply((s) => s.delete!) } : {}),
        ...(stdin.value ? { stdin: stdin.value } : inPlace && hashes.secret.length ? { stdin: stdinHashes() } : {}),
        ...(!inPlace && hashes.plain.length + hashes.secret.length ? { triggers: [...hashes.plain, ...hashes.secret] } : {}),
    };
    commands[e.role] = new command.remote.Command(name, args, {
        parent: target.parent,
        dependsOn: after.map((a) => commands[a] ?? outside[a]),
        deleteBeforeReplace: strategy === "undo-first",
    });

    const rerun: pulumi.Output<string[]> =
        e.kind === "file"
            ? stdin.secret
                ? pulumi.output([SECRET_HASH])
                : stdin.value!.apply((c) => [sha256(c)])
            : pulumi.all(hashes.plain).apply((p) => [...p, ...hashes.secret.map(() => SECRET_HASH)]);
    const afterNames = after.map((a) => (commands[a] && a !== e.role ? `${target.name}-${a}` : resourceName(outside[a], a)));
    return pulumi.all([current, rerun]).apply(([c, r]): StepRecord => ({
        host: run.plan.host,
        name,
        role: c.role,
        kind: c.kind,
        ...(c.kind === "file" ? { path: c.file.file.path } : { command: c.step.command }),
        strategy,
        rerunOn: r,
        after: afterNames,
        undo: recordUndo(c),
        ...(c.kind === "step" && c.step.waitsForHost ? { waitsForHost: true } : {}),
    }));
}

/** What goes on stdin, secrets filled in (the command string never holds content). */
function stdinOf(run: PlanRun, e: PlanEntry, current: pulumi.Output<PlanEntry>, name: string): { value?: pulumi.Output<string>; secret: boolean } {
    const raw = e.kind === "file" ? e.file.file.content : e.step.stdin;
    if (raw === undefined) return { secret: false };
    const text = current.apply((c) => (c.kind === "file" ? c.file.file.content : (c.step.stdin ?? "")));
    // Secrets go only where the renderer put a slot: never found by searching the text for tokens.
    const templateOf = (c: PlanEntry): SecretTemplate | undefined => (c.kind === "file" ? c.file.file.secretTemplate : stdinTemplate(c.step.stdin ?? ""));
    const template = templateOf(e);
    if (template) {
        const names = templateSecrets(template);
        const filled = pulumi
            .all([current, ...names.map((n) => secretInput(name, n, run.opts.secrets))])
            .apply(([c, ...values]) => fillTemplate(templateOf(c as PlanEntry)!, Object.fromEntries(names.map((n, i) => [n, values[i] as string]))));
        return { value: pulumi.secret(filled), secret: true };
    }
    const secret = e.kind === "file" && e.file.file.secret;
    return { value: secret ? pulumi.secret(text) : text, secret };
}

/** A step's re-run hashes, split by whether they derive from a secret. */
function rerunHashes(
    run: PlanRun,
    e: PlanEntry,
    current: pulumi.Output<PlanEntry>,
    name: string,
    stdin: { value?: pulumi.Output<string>; secret: boolean },
): { plain: pulumi.Output<string>[]; secret: pulumi.Output<string>[] } {
    const plain: pulumi.Output<string>[] = [];
    const secret: pulumi.Output<string>[] = [];
    if (e.kind === "file") return { plain, secret };
    e.step.rerunOn.forEach((_, i) => plain.push(current.apply((c) => (c.kind === "step" ? c.step.rerunOn[i] : ""))));
    for (const f of e.step.rerunOnFiles ?? []) {
        const file = run.commands[f];
        if (!file) throw new Error(`${name}: re-runs on ${f}, which is not a file sent before it`);
        // The hash of what the file's command sent (its stdin output), so the step depends on it.
        (run.secretFiles.has(f) ? secret : plain).push(file.stdin.apply((c) => sha256(c ?? "")));
    }
    if (e.step.rerunOnStdin) {
        if (!stdin.value) throw new Error(`${name}: re-runs on its stdin but has none`);
        (stdin.secret ? secret : plain).push(stdin.value.apply((s) => sha256(s)));
    }
    return { plain, secret };
}

/** A resource's registered name (Pulumi keeps it as `__name`), else the key it was given under. */
function resourceName(r: pulumi.Resource, fallback: string): string {
    return (r as unknown as { __name?: string }).__name ?? fallback;
}

function secretInput(name: string, placeholder: string, secrets: ExecuteOptions["secrets"]): pulumi.Input<string> {
    const v = secrets?.[placeholder];
    if (v === undefined) throw new Error(`${name}: no value given for secret placeholder ${placeholder}`);
    return v;
}

/**
 * Mailu at home as host plans. Two phases, because the images are pulled (Docker provider) between
 * them:
 * - base: SSH answers -> host script -> preflight (Docker, compose plugin) -> home firewall (what the
 *   tunnel may reach) -> non-local bind sysctl;
 * - main: secret env, mailu.env, accounts list -> compose.yaml (validated on the host) -> `up` ->
 *   config-import (dry run, then --update) -> reconcile.
 *
 * Pure: the model, the reported digests and the script's text in; plans out.
 */
import { HOME_FIREWALL_COMMANDS, renderHomeFirewall } from "./homeFirewall";
import { HostFile, secretPlaceholder, sha256 } from "./hostFile";
import { HostPlan, PlannedFile, fileRole, pathSlug, sshWaitStep } from "./hostPlan";
import {
    MAILU_COMMANDS,
    MAILU_COMPOSE_PATH,
    MAILU_SCRIPT_PATH,
    MailuModel,
    mailuImages,
    renderMailuAccounts,
    renderMailuCompose,
    renderMailuEnv,
    renderMailuImport,
    renderMailuSecretsEnv,
    renderNonlocalBind,
} from "./mailu";

/** The placeholder that stands for the whole import YAML (secrets filled in) on the import's stdin. */
export const IMPORT_YAML_SECRET = "mailu.import-yaml";
export const mailuImageRole = (service: string) => `image-${service}`;

/** The entry whose content names the reported digests. */
export const MAILU_LIVE_ROLES: readonly string[] = [`file-${pathSlug(MAILU_COMPOSE_PATH)}`];

/** Stands in for the reported digests when only the plan's shape is needed. */
export function shapeDigests(model: MailuModel): Record<string, string> {
    return Object.fromEntries(mailuImages(model).map((i) => [i.ref, `sha256:${"0".repeat(64)}`]));
}

const removed = (file: HostFile, after: string[]): PlannedFile => ({ file, after, undo: { kind: "remove-file" } });

/** `firewallScript`: assets/home-firewall/firewall.sh. */
export function planMailuBase(model: MailuModel, script: string, firewallScript: string): HostPlan {
    const scriptFile = removed({ host: "home", path: MAILU_SCRIPT_PATH, mode: "0755", owner: "root:root", content: script, secret: false, validate: "bash -n {}" }, ["ssh"]);
    const sysctl = removed(renderNonlocalBind(model), ["preflight"]);
    const firewallFiles = renderHomeFirewall(model, firewallScript).map((f) => removed(f, ["preflight"]));
    return {
        host: "home",
        files: [scriptFile, sysctl, ...firewallFiles],
        steps: [
            sshWaitStep("ssh"),
            {
                role: "preflight",
                // Mailu's network too: another Docker network overlapping it would stop `up` halfway.
                command: `${MAILU_COMMANDS.preflight} --subnet ${model.addresses.mailuSubnet} --bridge ${model.addresses.mailuBridge}`,
                rerunOn: [sha256(script)],
                after: [fileRole(scriptFile)],
                strategy: "replace",
                undo: { kind: "nothing-to-undo", reason: "only reads the host (Docker engine, compose plugin, Docker networks)" },
            },
            {
                // In place: `enable` re-applies in one transaction (never a moment unfiltered), and a
                // replacement would run the old `disable` after the new `enable`.
                role: "firewall",
                command: HOME_FIREWALL_COMMANDS.apply,
                rerunOn: firewallFiles.map((f) => sha256(f.file.content)),
                after: firewallFiles.map(fileRole),
                strategy: "in-place",
                undo: { kind: "replay-ledger", command: HOME_FIREWALL_COMMANDS.remove },
            },
            {
                // In place: re-applying the sysctl file is idempotent; the undo sets the value the host's
                // own sysctl files give (kernel default 0 when none sets it).
                role: "nonlocal-bind",
                command: MAILU_COMMANDS.applySysctl,
                rerunOn: [sha256(sysctl.file.content)],
                after: [fileRole(sysctl)],
                strategy: "in-place",
                undo: { kind: "restore-setting", command: MAILU_COMMANDS.restoreSysctl },
            },
        ],
    };
}

/** The outside resources Mailu's `up` waits for (tunnel, gateway, DNS: the front's first certificate needs them). */
export const startAfterRole = (i: number) => `start-after-${i}`;

/**
 * Main plan; `after` names `preflight`, `nonlocal-bind`, the pulls ({@link mailuImageRole}) and
 * `startAfter` outside resources ({@link startAfterRole} 0..startAfter-1) as outside resources.
 */
export function planMailu(model: MailuModel, repoDigests: Readonly<Record<string, string>>, startAfter = 0): HostPlan {
    const secretsEnv = removed(renderMailuSecretsEnv(model), ["preflight"]);
    const env = removed(renderMailuEnv(model), ["preflight"]);
    const accounts = removed(renderMailuAccounts(model), ["preflight"]);
    // After the env files: `docker compose config` on the staged file reads them.
    const compose = removed(renderMailuCompose(model, repoDigests), [fileRole(secretsEnv), fileRole(env)]);
    const imp = renderMailuImport(model);
    return {
        host: "home",
        files: [secretsEnv, env, accounts, compose],
        steps: [
            {
                // In place: `compose up -d` recreates what changed; its undo (`down`, data kept) must
                // never follow a new `up`. Re-runs when any file the project reads changes.
                role: "up",
                command: MAILU_COMMANDS.up,
                rerunOn: [],
                rerunOnFiles: [fileRole(compose), fileRole(env), fileRole(secretsEnv)],
                after: [
                    fileRole(compose),
                    "nonlocal-bind",
                    "firewall",
                    ...mailuImages(model).map((i) => mailuImageRole(i.service)),
                    ...Array.from({ length: startAfter }, (_, i) => startAfterRole(i)),
                ],
                strategy: "in-place",
                undo: { kind: "stop-service", command: MAILU_COMMANDS.down },
            },
            {
                // The hash of the YAML with placeholders sits in the command (plain: a redacted preview
                // shows that domains, users or aliases changed); the hash of the filled YAML re-runs it
                // too (secret: a new password or DKIM key).
                role: "import",
                command: `# import YAML without secrets: sha256 ${sha256(imp.content)}\n${MAILU_COMMANDS.import}`,
                stdin: secretPlaceholder(IMPORT_YAML_SECRET),
                rerunOn: [],
                rerunOnStdin: true,
                after: ["up"],
                strategy: "replace",
                undo: { kind: "kept-on-destroy", reason: "domains, users, aliases and DKIM keys live in Mailu's data, which destroy keeps with the mail" },
            },
            {
                role: "reconcile",
                command: MAILU_COMMANDS.reconcile(model.mailu.pruneRemoved),
                rerunOn: [sha256(accounts.file.content), String(model.mailu.pruneRemoved)],
                after: ["import", fileRole(accounts)],
                strategy: "replace",
                undo: { kind: "kept-on-destroy", reason: "reports (with pruneRemoved: deletes) accounts in Mailu's data; its record stays with that data" },
            },
        ],
    };
}

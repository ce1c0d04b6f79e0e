/**
 * Mailu 2024.06 on the home server: the compose project under /opt/homemail/mailu, its images pinned
 * by digest, and domains, users, aliases and DKIM keys imported from the stack config.
 *
 * Steps on the home server, in order: SSH up -> host script -> preflight (Docker, compose plugin) ->
 * non-local bind sysctl -> images pulled (digests recorded) -> secret env, mailu.env, accounts list ->
 * compose.yaml (validated on the host by `docker compose config`) -> `up` (after `startAfter`: the
 * tunnel, gateway and DNS; waits for the front's certificate; re-run when any of those files changes) -> config-import (dry run, then --update; re-run when its YAML changes) -> reconcile
 * (report accounts Mailu has beyond the config; delete removed ones only with pruneRemoved).
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { readAsset } from "./assets";
import type { SshTarget } from "./config/model";
import { secretValue } from "./config/load";
import { pathSlug, pushHostFile, sshConnection, waitForSsh } from "./hostFile";
import { asRoot, HostFile, sha256 } from "./render/hostFile";
import {
    API_TOKEN_PLACEHOLDER,
    MAILU_COMMANDS,
    MAILU_COMPOSE_PATH,
    MAILU_SCRIPT_PATH,
    MailuModel,
    SECRET_KEY_PLACEHOLDER,
    fillImportSecrets,
    mailuImages,
    mailuUrls,
    pinnedMailuImages,
    renderMailuAccounts,
    renderMailuCompose,
    renderMailuEnv,
    renderMailuImport,
    renderMailuSecretsEnv,
    renderNonlocalBind,
} from "./render/mailu";

/** Arguments of {@link HomeMailServer}. */
export interface HomeMailServerArgs {
    /**
     * The validated model (or the slice Mailu needs). Required; no default. Example: `model` from
     * `loadModel()`.
     */
    readonly model: MailuModel;
    /**
     * SSH access to the home server. Required; no default. Example: `model.home.ssh`
     * (`{ host: "192.168.1.10", port: 22, user: "root" }`). The image pulls go over the same SSH with the
     * local `ssh` client, so a key set in `homemail:homeSshPrivateKey` must also be in the ssh-agent, and a
     * non-root user must be in the host's `docker` group.
     */
    readonly ssh: SshTarget;
    /**
     * DKIM private key (PEM, secret) per main mail domain, imported into Mailu; alternative domains are
     * signed with their parent's key. Required, one per primary/extra domain; no default. Example:
     * `dns.dkimPrivateKeys` (`{ "example.com": tlsKey.privateKeyPem }`).
     */
    readonly dkimPrivateKeys: Readonly<Record<string, pulumi.Input<string>>>;
    /**
     * What must be in place before Mailu starts: its front gets its Let's Encrypt certificate by
     * http-01 through the VPS, so the tunnel, the gateway (port 80 -> home) and the DNS records (the
     * mail host's A record) come first. A component here means all of its children. Default: none.
     * Example: `[wireguard, gateway, ...dns.zones]`.
     */
    readonly startAfter?: readonly pulumi.Resource[];
}

/**
 * Mailu at home, consistent with the gateway by construction, with users and aliases as code.
 *
 * Children are named `${name}-<role>`: `-ssh`, `-file-<path slug>`, `-preflight`, `-nonlocal-bind`,
 * `-docker` (provider), `-image-<service>`, `-secret-key`, `-password-<address>`, `-up`, `-import`,
 * `-reconcile`.
 */
export class HomeMailServer extends pulumi.ComponentResource {
    /** Every mailbox's password (address -> password), secret. */
    public readonly userPasswords: pulumi.Output<Record<string, string>>;
    /** Mailu's admin web interface. */
    public readonly adminUrl: pulumi.Output<string>;
    /** The webmail, or undefined when `homemail:mailu.webmail` is `none`. */
    public readonly webmailUrl: pulumi.Output<string | undefined>;
    /** Every service's image as deployed: `ref@sha256:...`. */
    public readonly images: pulumi.Output<Record<string, string>>;
    /** The reconcile step's report: accounts Mailu has beyond the config, kept or deleted. */
    public readonly accountsReport: pulumi.Output<string>;
    /** Mailu's REST API token (secret), or undefined when `homemail:mailu.api` is false. */
    public readonly apiToken: pulumi.Output<string | undefined>;

    constructor(name: string, args: HomeMailServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateArgs(args);
        super("homemail:mail:HomeMailServer", name, {}, opts);
        const { model, ssh } = args;
        const step = (role: string, create: string, extra: Partial<command.remote.CommandArgs>, dependsOn: pulumi.Resource[]) =>
            new command.remote.Command(
                `${name}-${role}`,
                { connection: sshConnection(ssh), create: asRoot(ssh.user, create), ...extra },
                { parent: this, dependsOn },
            );
        const push = (file: HostFile | pulumi.Output<HostFile>, path: string, dependsOn: pulumi.Resource[], secrets?: Record<string, pulumi.Input<string>>) =>
            pushHostFile(`${name}-file-${pathSlug(path)}`, file, { parent: this, ssh, dependsOn, secrets });

        // ---- host: script, preflight, non-local bind ----
        const sshUp = waitForSsh(`${name}-ssh`, ssh, this);
        const script: HostFile = { host: "home", path: MAILU_SCRIPT_PATH, mode: "0755", owner: "root:root", content: readAsset("mailu/homemail-mailu.sh"), secret: false, validate: "bash -n {}" };
        const scriptFile = push(script, script.path, [sshUp]);
        const preflight = step("preflight", MAILU_COMMANDS.preflight, { triggers: [sha256(script.content)] }, [scriptFile]);
        const sysctl = renderNonlocalBind(model);
        const sysctlFile = push(sysctl, sysctl.path, [preflight]);
        const nonlocalBind = step("nonlocal-bind", MAILU_COMMANDS.applySysctl, { triggers: [sha256(sysctl.content)] }, [sysctlFile]);

        // ---- images, pulled on the home server through Docker over SSH; digests recorded ----
        const provider = new docker.Provider(
            `${name}-docker`,
            { host: `ssh://${ssh.user}@${ssh.host}:${ssh.port}`, sshOpts: ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30"] },
            { parent: this },
        );
        const pulled = mailuImages(model).map(({ service, ref }) => ({
            ref,
            image: new docker.RemoteImage(
                `${name}-image-${service}`,
                { name: ref, keepLocally: true },
                { parent: this, provider, dependsOn: [preflight] },
            ),
        }));
        const repoDigests = pulumi.all(pulled.map((p) => p.image.repoDigest)).apply((ds) => Object.fromEntries(pulled.map((p, i) => [p.ref, ds[i]])));

        // ---- secrets ----
        const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 32, special: false }, { parent: this });
        const apiToken = model.mailu.api
            ? new random.RandomPassword(`${name}-api-token`, { length: 40, special: false }, { parent: this })
            : undefined;
        const passwords: Record<string, pulumi.Output<string>> = {};
        for (const u of model.users) {
            passwords[u.address] =
                u.password.source === "config"
                    ? secretValue(u.password.ref)
                    : new random.RandomPassword(`${name}-password-${u.address}`, { length: 24, special: false }, { parent: this }).result;
        }

        // ---- files ----
        const secretsEnv = renderMailuSecretsEnv(model);
        const secretValues: Record<string, pulumi.Input<string>> = {
            [SECRET_KEY_PLACEHOLDER]: secretKey.result,
            ...(apiToken ? { [API_TOKEN_PLACEHOLDER]: apiToken.result } : {}),
        };
        const secretsEnvFile = push(secretsEnv, secretsEnv.path, [preflight], secretValues);
        const env = renderMailuEnv(model);
        const envFile = push(env, env.path, [preflight]);
        const accounts = renderMailuAccounts(model);
        const accountsFile = push(accounts, accounts.path, [preflight]);
        const compose = repoDigests.apply((d) => renderMailuCompose(model, d));
        // After the env files: `docker compose config` on the staged file reads them.
        const composeFile = push(compose, MAILU_COMPOSE_PATH, [secretsEnvFile, envFile]);

        // ---- start: re-run whenever a file the project reads changes (hash of what was sent) ----
        const up = step(
            "up",
            MAILU_COMMANDS.up,
            { triggers: [composeFile, envFile, secretsEnvFile].map((f) => f.stdin.apply((s) => sha256(s ?? ""))) },
            [composeFile, nonlocalBind, ...pulled.map((p) => p.image), ...(args.startAfter ?? [])],
        );

        // ---- domains, users, aliases, DKIM keys: config-import through stdin ----
        const imp = renderMailuImport(model);
        const importValues = imp.secrets.map((s) =>
            s.kind === "password" ? passwords[s.address] : pulumi.output(args.dkimPrivateKeys[s.domain]),
        );
        const yaml = pulumi.secret(
            pulumi.all(importValues).apply((vs) => fillImportSecrets(imp, Object.fromEntries(imp.secrets.map((s, i) => [s.placeholder, vs[i]])))),
        );
        // The hash of the YAML with placeholders sits in the command (plain: a redacted preview shows
        // that domains, users or aliases changed; a change re-runs the import); the hash of the filled
        // YAML is the trigger (secret: a new password or DKIM key re-runs it too).
        const importCommand = `# import YAML without secrets: sha256 ${sha256(imp.content)}\n${MAILU_COMMANDS.import}`;
        const importStep = step("import", importCommand, { stdin: yaml, triggers: [yaml.apply((y) => sha256(y))] }, [up]);
        const reconcile = step(
            "reconcile",
            MAILU_COMMANDS.reconcile(model.mailu.pruneRemoved),
            { triggers: [sha256(accounts.content), String(model.mailu.pruneRemoved)] },
            [importStep, accountsFile],
        );

        const urls = mailuUrls(model);
        this.userPasswords = pulumi.secret(
            pulumi.all(Object.entries(passwords).map(([address, p]) => p.apply((v) => [address, v] as const))).apply((pairs) => Object.fromEntries(pairs)),
        );
        this.adminUrl = pulumi.output(urls.admin);
        this.webmailUrl = pulumi.output(urls.webmail);
        this.images = repoDigests.apply((d) => pinnedMailuImages(model, d));
        this.accountsReport = reconcile.stdout;
        this.apiToken = apiToken ? pulumi.secret(apiToken.result) : pulumi.output(undefined);
        this.registerOutputs({
            userPasswords: this.userPasswords,
            adminUrl: this.adminUrl,
            webmailUrl: this.webmailUrl,
            images: this.images,
            accountsReport: this.accountsReport,
            apiToken: this.apiToken,
        });
    }
}


function validateArgs(args: HomeMailServerArgs): void {
    if (!args.model?.mailu || !args.model?.addresses) throw new Error("HomeMailServer: args.model must be the validated model");
    if (!args.ssh?.host) throw new Error("HomeMailServer: args.ssh.host is required");
    const main = args.model.domains.filter((d) => d.kind !== "alternative").map((d) => d.name);
    const keys = Object.keys(args.dkimPrivateKeys ?? {});
    const missing = main.filter((d) => !keys.includes(d));
    if (missing.length) throw new Error(`HomeMailServer: args.dkimPrivateKeys has no key for ${missing.join(", ")}`);
    const extra = keys.filter((k) => !main.includes(k));
    if (extra.length) throw new Error(`HomeMailServer: args.dkimPrivateKeys has keys for ${extra.join(", ")}, which are not main mail domains`);
}

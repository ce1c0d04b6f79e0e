/**
 * Mailu 2024.06 on the home server: the compose project under /opt/homemail/mailu, its images pinned
 * by digest, and domains, users, aliases and DKIM keys imported from the stack config.
 *
 * Steps on the home server, in order: SSH up -> host script -> preflight (Docker, compose plugin) ->
 * home firewall (what the tunnel may reach) -> non-local bind sysctl -> images pulled (digests recorded) -> secret env, mailu.env, accounts list ->
 * compose.yaml (validated on the host by `docker compose config`) -> `up` (after `startAfter`: the
 * tunnel, gateway and DNS; waits for the front's certificate; re-run when any of those files changes) -> config-import (dry run, then --update; re-run when its YAML changes) -> reconcile
 * (report accounts Mailu has beyond the config; delete removed ones only with pruneRemoved).
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { readAsset } from "./assets";
import { dockerSshOptions } from "./knownHosts";
import type { SshTarget } from "./config/model";
import { secretValue } from "./config/load";
import { executePlan } from "./hostPlan";
import type { StepRecord } from "./render/hostPlan";
import { API_TOKEN_PLACEHOLDER, MailuModel, SECRET_KEY_PLACEHOLDER, fillImportSecrets, mailuImages, mailuUrls, pinnedMailuImages, renderMailuImport } from "./render/mailu";
import { IMPORT_YAML_SECRET, MAILU_LIVE_ROLES, mailuImageRole, startAfterRole, planMailu, planMailuBase, shapeDigests } from "./render/mailuPlan";

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
    /** Every step on the home server, in run order (`out/<stack>/steps.json`). */
    public readonly hostSteps: pulumi.Output<StepRecord[]>;

    constructor(name: string, args: HomeMailServerArgs, opts?: pulumi.ComponentResourceOptions) {
        validateArgs(args);
        super("homemail:mail:HomeMailServer", name, {}, opts);
        const { model, ssh } = args;
        const target = { name, parent: this, ssh };

        // ---- host: script, preflight, non-local bind ----
        const base = executePlan(target, planMailuBase(model, readAsset("mailu/homemail-mailu.sh"), readAsset("home-firewall/firewall.sh")));
        const preflight = base.commands.preflight;

        // ---- images, pulled on the home server through Docker over SSH; digests recorded ----
        const provider = new docker.Provider(
            `${name}-docker`,
            { host: `ssh://${ssh.user}@${ssh.host}:${ssh.port}`, sshOpts: dockerSshOptions(ssh) },
            { parent: this },
        );
        const pulled = mailuImages(model).map(({ service, ref }) => ({
            service,
            ref,
            image: new docker.RemoteImage(
                `${name}-image-${service}`,
                { name: ref, keepLocally: true },
                { parent: this, provider, dependsOn: [preflight] },
            ),
        }));
        const repoDigests = pulumi.all(pulled.map((p) => p.image.repoDigest)).apply((ds) => Object.fromEntries(pulled.map((p, i) => [p.ref, ds[i]])));

        const { secretKey, apiToken, passwords, yaml } = mailuSecrets(name, model, args.dkimPrivateKeys, this);

        // ---- files, up, import, reconcile ----
        const startAfter = args.startAfter ?? [];
        const main = executePlan(target, planMailu(model, shapeDigests(model), startAfter.length), {
            live: { plan: repoDigests.apply((d) => planMailu(model, d, startAfter.length)), roles: MAILU_LIVE_ROLES },
            secrets: {
                [SECRET_KEY_PLACEHOLDER]: secretKey.result,
                ...(apiToken ? { [API_TOKEN_PLACEHOLDER]: apiToken.result } : {}),
                [IMPORT_YAML_SECRET]: yaml,
            },
            outside: {
                preflight,
                "nonlocal-bind": base.commands["nonlocal-bind"],
                firewall: base.commands.firewall,
                ...Object.fromEntries(pulled.map((p) => [mailuImageRole(p.service), p.image])),
                ...Object.fromEntries(startAfter.map((r, i) => [startAfterRole(i), r])),
            },
        });
        const reconcile = main.commands.reconcile;
        this.hostSteps = pulumi.all([base.records, main.records]).apply((lists) => lists.flat());

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
            hostSteps: this.hostSteps,
        });
    }
}


/** Mailu's generated secrets, every mailbox's password, and the config-import YAML with them filled in (secret). */
function mailuSecrets(name: string, model: MailuModel, dkimPrivateKeys: HomeMailServerArgs["dkimPrivateKeys"], parent: pulumi.Resource) {
    const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 32, special: false }, { parent });
    const apiToken = model.mailu.api ? new random.RandomPassword(`${name}-api-token`, { length: 40, special: false }, { parent }) : undefined;
    const passwords: Record<string, pulumi.Output<string>> = {};
    for (const u of model.users) {
        passwords[u.address] =
            u.password.source === "config"
                ? secretValue(u.password.ref)
                : new random.RandomPassword(`${name}-password-${u.address}`, { length: 24, special: false }, { parent }).result;
    }
    // Domains, users, aliases, DKIM keys: the config-import YAML, secrets filled in.
    const imp = renderMailuImport(model);
    const importValues = imp.secrets.map((s) => (s.kind === "password" ? passwords[s.address] : pulumi.output(dkimPrivateKeys[s.domain])));
    const yaml = pulumi.secret(
        pulumi.all(importValues).apply((vs) => fillImportSecrets(imp, Object.fromEntries(imp.secrets.map((s, i) => [s.placeholder, vs[i]])))),
    );
    return { secretKey, apiToken, passwords, yaml };
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

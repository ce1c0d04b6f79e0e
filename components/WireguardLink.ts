/**
 * The WireGuard hub-and-spoke link between the VPS (hub) and home (spoke), and the SMTP egress policy
 * that sends Mailu's outbound tcp/25 through it.
 *
 * Per host: preflight (tools, iptables backend) -> key born on the host (only the public key comes
 * back) -> wg0.conf (rendered with the peer's public key) -> wg-quick@wg0 up/restarted when the conf
 * changes -> egress files -> egress enable. All file content travels on stdin.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { readAsset } from "./assets";
import type { SshTarget } from "./config/model";
import { pathSlug, pushHostFile, sshConnection, waitForSsh } from "./hostFile";
import { EGRESS_SCRIPT_PATH, EGRESS_UNIT_NAME, renderEgress } from "./render/egress";
import type { HostFile, HostName } from "./render/hostFile";
import { asRoot, sha256 } from "./render/hostFile";
import { WG_CONF_PATH, WG_INTERFACE, WG_KEY_PATH, WireguardModel, renderWireguard } from "./render/wireguard";

/** Arguments of {@link WireguardLink}. */
export interface WireguardLinkArgs {
    /**
     * The address plan and egress settings from the validated model (`model.addresses`,
     * `model.egress`). Required; no default. Example: `{ addresses: model.addresses, egress: model.egress }`.
     */
    readonly model: WireguardModel;
    /**
     * SSH access to the VPS, the hub. Required; no default. Example: `model.vps.ssh`
     * (`{ host: "203.0.113.10", port: 22, user: "root" }`).
     */
    readonly hubSsh: SshTarget;
    /**
     * SSH access to the home server, the spoke. Required; no default. Example: `model.home.ssh`
     * (`{ host: "192.168.1.10", port: 22, user: "root" }`).
     */
    readonly spokeSsh: SshTarget;
}

type Role = "hub" | "spoke";
const HOST_OF: Record<Role, HostName> = { hub: "vps", spoke: "home" };

/**
 * WireGuard hub (VPS) and spoke (home), keys generated on their hosts, and the SMTP egress policy.
 *
 * Children are named `${name}-<role>-<step>` (role `hub` or `spoke`), e.g. `wg-hub-key`,
 * `wg-spoke-up`, `wg-spoke-egress`; host files `${name}-<role>-file-<path slug>`
 * (`wg-spoke-file-etc-wireguard-wg0.conf`).
 */
export class WireguardLink extends pulumi.ComponentResource {
    /** The hub's WireGuard public key, as the hub reported it (its private key never left it). */
    public readonly hubPublicKey: pulumi.Output<string>;
    /** The spoke's WireGuard public key, as the spoke reported it. */
    public readonly spokePublicKey: pulumi.Output<string>;
    /** The last step on each host: wg0 is up and (if enabled) the egress policy verified. */
    public readonly hubReady: pulumi.Output<string>;
    public readonly spokeReady: pulumi.Output<string>;

    constructor(name: string, args: WireguardLinkArgs, opts?: pulumi.ComponentResourceOptions) {
        validateArgs(args);
        super("homemail:net:WireguardLink", name, {}, opts);

        const ssh: Record<Role, SshTarget> = { hub: args.hubSsh, spoke: args.spokeSsh };
        const preflight = readAsset("wireguard/preflight.sh");
        const ensureKey = readAsset("wireguard/ensure-key.sh");

        const base = {} as Record<Role, { ssh: command.remote.Command; preflight: command.remote.Command; key: command.remote.Command }>;
        for (const role of ["hub", "spoke"] as const) {
            const sshUp = waitForSsh(`${name}-${role}-ssh`, ssh[role], this);
            const check = new command.remote.Command(
                `${name}-${role}-preflight`,
                { connection: sshConnection(ssh[role]), create: asRoot(ssh[role].user, "bash -s"), stdin: preflight, triggers: [sha256(preflight)] },
                { parent: this, dependsOn: [sshUp] },
            );
            // No triggers and an idempotent script: re-running never rotates the key.
            const key = new command.remote.Command(
                `${name}-${role}-key`,
                { connection: sshConnection(ssh[role]), create: asRoot(ssh[role].user, `bash -s -- ${WG_KEY_PATH}`), stdin: ensureKey },
                { parent: this, dependsOn: [check] },
            );
            base[role] = { ssh: sshUp, preflight: check, key };
        }
        this.hubPublicKey = base.hub.key.stdout.apply((s) => s.trim());
        this.spokePublicKey = base.spoke.key.stdout.apply((s) => s.trim());

        const confs = pulumi
            .all([this.hubPublicKey, this.spokePublicKey])
            .apply(([hub, spoke]) => renderWireguard(args.model, { hub, spoke }));
        const egressFiles = renderEgress(args.model, {
            home: readAsset("egress/home.sh"),
            vps: readAsset("egress/vps.sh"),
            lib: readAsset("egress/lib.sh"),
        });

        const ready = {} as Record<Role, command.remote.Command>;
        for (const role of ["hub", "spoke"] as const) {
            const host = HOST_OF[role];
            // Egress files go first: the spoke's PostUp re-applies egress through the installed script.
            const egressPushes = egressFiles
                .filter((f) => f.host === host)
                .map((f) => pushHostFile(`${name}-${role}-file-${pathSlug(f.path)}`, f, { parent: this, ssh: ssh[role], dependsOn: [base[role].preflight] }));
            const conf = pushHostFile(`${name}-${role}-file-${pathSlug(WG_CONF_PATH)}`, confs[role], { parent: this, ssh: ssh[role], dependsOn: [base[role].key, ...egressPushes] });
            const up = new command.remote.Command(
                `${name}-${role}-up`,
                {
                    connection: sshConnection(ssh[role]),
                    create: asRoot(ssh[role].user, `systemctl enable wg-quick@${WG_INTERFACE} && systemctl restart wg-quick@${WG_INTERFACE}`),
                    delete: asRoot(ssh[role].user, `systemctl disable --now wg-quick@${WG_INTERFACE}`),
                    // Restart exactly when the conf's bytes change (PostUp/PostDown may have changed).
                    triggers: [confs[role].content.apply((c) => sha256(c))],
                },
                { parent: this, dependsOn: [conf] },
            );
            ready[role] = egressPushes.length ? this.egressStep(name, role, ssh[role], egressFiles.filter((f) => f.host === host), [up, ...egressPushes]) : up;
        }
        this.hubReady = ready.hub.stdout;
        this.spokeReady = ready.spoke.stdout;

        this.registerOutputs({
            hubPublicKey: this.hubPublicKey,
            spokePublicKey: this.spokePublicKey,
            hubReady: this.hubReady,
            spokeReady: this.spokeReady,
        });
    }

    /**
     * `enable` (then `verify`) on one host. On a content change the step is replaced with
     * deleteBeforeReplace, so the OLD step's delete (`disable`, which replays the ledger) runs before
     * the new `enable`; the default order (new create, then old delete) would end with egress off.
     * Deleting the step runs `disable`.
     */
    private egressStep(name: string, role: Role, ssh: SshTarget, files: HostFile[], after: pulumi.Resource[]): command.remote.Command {
        return new command.remote.Command(
            `${name}-${role}-egress`,
            {
                connection: sshConnection(ssh),
                create: asRoot(ssh.user, `${EGRESS_SCRIPT_PATH} enable && ${EGRESS_SCRIPT_PATH} verify && systemctl daemon-reload && systemctl enable ${EGRESS_UNIT_NAME}`),
                delete: asRoot(ssh.user, `${EGRESS_SCRIPT_PATH} disable && systemctl disable ${EGRESS_UNIT_NAME}`),
                triggers: files.map((f) => sha256(f.content)),
            },
            { parent: this, dependsOn: after, deleteBeforeReplace: true },
        );
    }
}


function validateArgs(args: WireguardLinkArgs): void {
    if (!args.model?.addresses || !args.model?.egress) throw new Error("WireguardLink: args.model must carry addresses and egress");
    if (!args.hubSsh?.host) throw new Error("WireguardLink: args.hubSsh.host is required");
    if (!args.spokeSsh?.host) throw new Error("WireguardLink: args.spokeSsh.host is required");
}

/**
 * The WireGuard hub-and-spoke link between the VPS (hub) and home (spoke), and the SMTP egress policy
 * that sends Mailu's outbound tcp/25 through it.
 *
 * Wiring only: the plans (components/render/wireguardPlan.ts) say what runs on each host; the
 * executor runs them. Per host: base plan (SSH, preflight, key born on the host) -> link plan
 * (egress files, wg0.conf with the peer's reported public key, wg-quick@wg0 up, egress enable).
 */
import * as pulumi from "@pulumi/pulumi";
import { readAsset } from "./assets";
import type { SshTarget } from "./config/model";
import { ExecutedPlan, executePlan } from "./hostPlan";
import type { StepRecord } from "./render/hostPlan";
import type { WireguardModel } from "./render/wireguard";
import { pathSlug } from "./render/hostPlan";
import { SHAPE_KEYS, WG_CONF_PATH, WIREGUARD_ROLES, WireguardRole, WireguardScripts, planWireguardBase, planWireguardLink } from "./render/wireguardPlan";

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
    /**
     * The key epoch (`homemail:wireguard.keyEpoch`): a host keeps its key while the epoch stays, and
     * makes a new one (removing the old) when it changes. Default 0. Example: `1` to rotate both keys.
     */
    readonly keyEpoch?: number;
}

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
    /** Every step on both hosts, in run order (`out/<stack>/steps.json`). */
    public readonly hostSteps: pulumi.Output<StepRecord[]>;

    constructor(name: string, args: WireguardLinkArgs, opts?: pulumi.ComponentResourceOptions) {
        validateArgs(args);
        super("homemail:net:WireguardLink", name, {}, opts);
        const ssh: Record<WireguardRole, SshTarget> = { hub: args.hubSsh, spoke: args.spokeSsh };
        const scripts: WireguardScripts = {
            preflight: readAsset("wireguard/preflight.sh"),
            ensureKey: readAsset("wireguard/ensure-key.sh"),
            egress: { home: readAsset("egress/home.sh"), vps: readAsset("egress/vps.sh"), lib: readAsset("egress/lib.sh") },
        };
        const target = (role: WireguardRole) => ({ name, parent: this, ssh: ssh[role] });

        const base = {} as Record<WireguardRole, ExecutedPlan>;
        for (const role of WIREGUARD_ROLES) base[role] = executePlan(target(role), planWireguardBase(role, scripts, args.keyEpoch ?? 0));
        this.hubPublicKey = base.hub.commands["hub-key"].stdout.apply((s) => s.trim());
        this.spokePublicKey = base.spoke.commands["spoke-key"].stdout.apply((s) => s.trim());
        const keys = pulumi.all([this.hubPublicKey, this.spokePublicKey]).apply(([hub, spoke]) => ({ hub, spoke }));

        const link = {} as Record<WireguardRole, ExecutedPlan>;
        for (const role of WIREGUARD_ROLES) {
            link[role] = executePlan(target(role), planWireguardLink(args.model, role, SHAPE_KEYS, scripts), {
                live: { plan: keys.apply((k) => planWireguardLink(args.model, role, k, scripts)), roles: [`${role}-file-${pathSlug(WG_CONF_PATH)}`] },
                outside: { [`${role}-preflight`]: base[role].commands[`${role}-preflight`], [`${role}-key`]: base[role].commands[`${role}-key`] },
            });
        }
        const last = (role: WireguardRole) => link[role].commands[`${role}-egress`] ?? link[role].commands[`${role}-up`];
        this.hubReady = last("hub").stdout;
        this.spokeReady = last("spoke").stdout;
        this.hostSteps = pulumi.all([base.hub.records, link.hub.records, base.spoke.records, link.spoke.records]).apply((lists) => lists.flat());

        this.registerOutputs({
            hubPublicKey: this.hubPublicKey,
            spokePublicKey: this.spokePublicKey,
            hubReady: this.hubReady,
            spokeReady: this.spokeReady,
            hostSteps: this.hostSteps,
        });
    }
}

function validateArgs(args: WireguardLinkArgs): void {
    if (!args.model?.addresses || !args.model?.egress) throw new Error("WireguardLink: args.model must carry addresses and egress");
    if (!args.hubSsh?.host) throw new Error("WireguardLink: args.hubSsh.host is required");
    if (!args.spokeSsh?.host) throw new Error("WireguardLink: args.spokeSsh.host is required");
    if (args.keyEpoch !== undefined && (!Number.isInteger(args.keyEpoch) || args.keyEpoch < 0)) throw new Error("WireguardLink: args.keyEpoch must be a whole number >= 0");
}

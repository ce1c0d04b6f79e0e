/**
 * The OpenPGP Web Key Directory and MTA-STS policy site on the VPS: an nginx (pinned image) in the
 * gateway compose project (host network), serving `/opt/homemail/gateway/wkd/public` on the VPS loopback; Traefik
 * routes `openpgpkey.<domain>` and `mta-sts.<domain>` to it with TLS from its dns-01 resolver.
 *
 * This component puts the site's files on the VPS (prepare directories and prune -> push every file,
 * the server block validated by the image's `nginx -t` -> reload nginx if its config changed). The
 * compose service and the Traefik routing data are outputs (plain data) for the gateway, which owns
 * the compose file and the routers. Every decision is in components/render/wkdSite.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SshTarget } from "./config/model";
import { executePlan } from "./hostPlan";
import type { StepRecord } from "./render/hostPlan";
import { WKD_CONF_ROLE, WKD_GATEWAY_ROLES, WKD_SSH_ROLE, planWkdSite } from "./render/wkdPlan";
import type { WkdRoutes, WkdSiteModel } from "./render/wkdSite";

/** Arguments of {@link WkdSite}. */
export interface WkdSiteArgs {
    /**
     * The deployment model: mail domains (their `openpgpkey.` and `mta-sts.` hosts), the WKD
     * publications derived from `homemail:users[i].openpgpPublicKey`, the mail host and
     * `homemail:mtaSts` (the policy), `homemail:images.nginx` and the loopback listen address.
     * Required. Example: the `Model` from `loadModel()`.
     */
    readonly model: WkdSiteModel;
    /**
     * How Pulumi reaches the VPS over SSH (root, or a user with passwordless sudo).
     * Required. Example: `model.vps.ssh`.
     */
    readonly ssh: SshTarget;
    /**
     * A step that already waited for the VPS's SSH to answer; the site's steps run after it.
     * Default: the site adds its own wait step, `${name}-ssh`. Example: the gateway's wait step.
     */
    readonly sshReady?: pulumi.Resource;
    /**
     * The gateway's nginx image: `ref`, pinned by digest as its compose service runs it, and the
     * gateway's `preflight` and `pull` steps. The server block is checked by that image's `nginx -t`
     * after both (Docker is there, the image is pulled). Default: the check runs `nginx:<tag>` and
     * waits for nothing (a site deployed without the gateway). Example: `gateway.nginxImage`.
     */
    readonly gatewayImage?: GatewayNginxImage;
}

/** What {@link VpsGateway} tells the site about its nginx image. */
export interface GatewayNginxImage {
    readonly ref: pulumi.Output<string>;
    readonly preflight: pulumi.Resource;
    readonly pull: pulumi.Resource;
}

/** One published key: the address, the key's fingerprint and the WKD URL a sender fetches. */
export interface WkdKeyOutput {
    readonly address: string;
    readonly fingerprint: string;
    readonly url: string;
}

export class WkdSite extends pulumi.ComponentResource {
    /** Hosts and loopback backend URL for the gateway's Traefik routers. */
    public readonly routes: pulumi.Output<WkdRoutes>;
    /** Every published key and its URL. */
    public readonly keys: pulumi.Output<readonly WkdKeyOutput[]>;
    /** Absolute paths of every file this site puts on the VPS. */
    public readonly files: pulumi.Output<readonly string[]>;
    /** Every step of the site, in run order (`out/<stack>/steps.json`). */
    public readonly hostSteps: pulumi.Output<StepRecord[]>;

    constructor(name: string, args: WkdSiteArgs, opts?: pulumi.ComponentResourceOptions) {
        super("homemail:gateway:WkdSite", name, {}, opts);
        validateArgs(args);
        // Everything is decided by the pure renderer, before any child is registered.
        const own = args.sshReady === undefined;
        const g = args.gatewayImage;
        // The plan's shape with a stand-in digest; the live plan carries the one the gateway pulled.
        const { plan, site } = planWkdSite(args.model, own, g ? "nginx@sha256:shape" : undefined);
        const executed = executePlan({ name, parent: this, ssh: args.ssh }, plan, {
            ...(g ? { live: { plan: g.ref.apply((ref) => planWkdSite(args.model, own, ref).plan), roles: [WKD_CONF_ROLE] } } : {}),
            outside: {
                ...(args.sshReady ? { [WKD_SSH_ROLE]: args.sshReady } : {}),
                ...(g ? { [WKD_GATEWAY_ROLES.preflight]: g.preflight, [WKD_GATEWAY_ROLES.nginxPull]: g.pull } : {}),
            },
        });
        this.hostSteps = executed.records;

        this.routes = pulumi.output(site.routes);
        this.keys = pulumi.output(site.keys);
        this.files = pulumi.output(site.files.map((f) => f.path));
        this.registerOutputs({ routes: this.routes, keys: this.keys, files: this.files, hostSteps: this.hostSteps });
    }
}

/** Checks the arguments before any child is registered; errors name the field. */
function validateArgs(args: WkdSiteArgs): void {
    if (!args.model) throw new Error("WkdSite: args.model is required");
    if (!args.ssh?.host) throw new Error("WkdSite: args.ssh.host is required");
    if (args.model.domains.length === 0) throw new Error("WkdSite: args.model.domains is empty; the site needs at least one mail domain");
}

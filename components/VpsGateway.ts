/**
 * The VPS gateway: Traefik v3 (TLS passthrough + PROXY v2), HAProxy for server-first SMTP, the WKD
 * nginx, and the host firewall, pushed to the VPS over SSH.
 *
 * Order on the VPS: SSH answers -> preflight (Docker, compose, iptables) -> images pulled by tag
 * through the Docker provider over SSH (a wrong tag fails here) -> files staged, validated and
 * installed (compose.yaml pins each image to the digest just pulled) -> firewall -> `compose up` ->
 * reloads of what changed. Every step is keyed by content hashes, so a second `pulumi up` runs
 * nothing.
 */
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { readAsset } from "./assets";
import { dockerSshOptions } from "./knownHosts";
import { executePlan } from "./hostPlan";
import type { StepRecord } from "./render/hostPlan";
import { GatewayImages, GatewayModel, IMAGE_REPOSITORIES, pinnedImage } from "./render/gatewayLayout";
import { existingTraefikRequirements } from "./render/gateway";
import { CF_TOKEN_SECRET, GATEWAY_LIVE_ROLES, SHAPE_IMAGES, imageRole, planGateway, planGatewayBase, wantedImages } from "./render/gatewayPlan";
import { TraefikEntrypoint, traefikEntrypoints } from "./render/traefik";
import type { GatewayNginxImage } from "./WkdSite";

/** Arguments of {@link VpsGateway}. */
export interface VpsGatewayArgs {
    /**
     * The slice of the validated model the gateway reads: port table, addresses, hostnames,
     * domains, ACME e-mail, image tags, `gateway` settings and VPS SSH access. Required; no default.
     * Example: `model` (a whole `Model` fits).
     */
    readonly model: GatewayModel;
    /**
     * The Cloudflare API token Traefik uses for ACME dns-01 (WKD and MTA-STS certificates). A secret
     * Output; it only ever travels on stdin into `/opt/homemail/gateway/secrets/cf_dns_api_token`
     * (0600). Required; no default. Example: the DNS block's narrow `cloudflare.ApiToken` value.
     */
    readonly cfDnsApiToken: pulumi.Input<string>;
}

/** What an existing Traefik (gateway.existingTraefikDynamicDir) needs for homemail's routes. */
export interface ExistingTraefikRequirements {
    readonly dynamicFile: string;
    readonly entrypoints: readonly TraefikEntrypoint[];
    readonly certificateResolver: string;
    readonly cloudflareTokenFile: string;
}

type ImageName = keyof GatewayImages;

/**
 * The VPS gateway component. Children are named `${name}-<role>`: `-ssh`, `-preflight`, `-docker`
 * (provider), `-image-<traefik|haproxy|nginx>`, `-file-<path slug>`, `-firewall`, `-up`,
 * `-traefik-restart`, `-haproxy-reload`.
 */
export class VpsGateway extends pulumi.ComponentResource {
    /** Each image as it runs: `repository:tag@sha256:<digest pulled at deploy>`. */
    public readonly images: pulumi.Output<GatewayImages>;
    /** The Traefik entrypoints homemail's routes use (name, address, port). */
    public readonly entrypoints: readonly TraefikEntrypoint[];
    /** Set when an existing Traefik is used: what it must provide. */
    public readonly existingTraefik?: ExistingTraefikRequirements;
    /** Output of the `compose up` step: the gateway project is running. */
    public readonly ready: pulumi.Output<string>;

    /** Every step on the VPS, in run order (`out/<stack>/steps.json`). */
    public readonly hostSteps: pulumi.Output<StepRecord[]>;
    /** The WKD site's nginx image as the gateway runs it (pinned), and the steps it needs first. */
    public readonly nginxImage: GatewayNginxImage;

    constructor(name: string, args: VpsGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        validateArgs(args);
        super("homemail:gateway:VpsGateway", name, {}, opts);
        const m = args.model;
        const ssh = m.vps.ssh;
        const existing = m.gateway.existingTraefikDynamicDir;
        const target = { name, parent: this, ssh };

        const base = executePlan(target, planGatewayBase(m, readAsset("gateway/preflight.sh")));
        const preflight = base.commands.preflight;

        // The Docker provider talks to the VPS's daemon through the system `ssh` (and its agent).
        const provider = new docker.Provider(
            `${name}-docker`,
            {
                host: `ssh://${ssh.user}@${ssh.host}:${ssh.port}`,
                sshOpts: dockerSshOptions(ssh),
            },
            { parent: this, dependsOn: [preflight] },
        );
        const pulled = Object.fromEntries(
            wantedImages(m).map((image) => [
                image,
                new docker.RemoteImage(
                    `${name}-image-${image}`,
                    // keepLocally: destroying this resource must not delete the image a container runs.
                    { name: `${IMAGE_REPOSITORIES[image]}:${m.images[image]}`, keepLocally: true },
                    { parent: this, provider, dependsOn: [preflight] },
                ),
            ]),
        ) as Partial<Record<ImageName, docker.RemoteImage>>;
        const digest = (image: ImageName): pulumi.Output<string> =>
            pulled[image]
                ? pulled[image]!.repoDigest.apply((d) => pinnedImage(IMAGE_REPOSITORIES[image], m.images[image], d))
                : pulumi.output(""); // no Traefik service is rendered then
        this.images = pulumi
            .all([digest("traefik"), digest("haproxy"), digest("nginx")])
            .apply(([traefik, haproxy, nginx]) => ({ traefik, haproxy, nginx }));

        const firewallScript = readAsset("gateway/firewall.sh");
        const main = executePlan(target, planGateway(m, SHAPE_IMAGES, firewallScript), {
            live: { plan: this.images.apply((images) => planGateway(m, images, firewallScript)), roles: GATEWAY_LIVE_ROLES },
            secrets: { [CF_TOKEN_SECRET]: args.cfDnsApiToken },
            outside: {
                preflight,
                ...Object.fromEntries(Object.entries(pulled).map(([image, r]) => [imageRole(image as ImageName), r!])),
            },
        });

        this.nginxImage = { ref: digest("nginx"), preflight, pull: pulled.nginx! };
        this.entrypoints = traefikEntrypoints(m);
        this.existingTraefik = existing ? existingTraefikRequirements(m) : undefined;
        this.ready = main.commands.up.stdout;
        this.hostSteps = pulumi.all([base.records, main.records]).apply((lists) => lists.flat());
        this.registerOutputs({
            images: this.images,
            entrypoints: this.entrypoints,
            existingTraefik: this.existingTraefik,
            ready: this.ready,
            hostSteps: this.hostSteps,
        });
    }
}

function validateArgs(args: VpsGatewayArgs): void {
    const m = args?.model;
    if (!m?.ports?.length || !m.addresses || !m.vps?.ssh?.host) throw new Error("VpsGateway: args.model must carry ports, addresses and vps.ssh");
    if (!m.images?.traefik || !m.images.haproxy || !m.images.nginx) throw new Error("VpsGateway: args.model.images must pin traefik, haproxy and nginx");
    if (args.cfDnsApiToken === undefined || args.cfDnsApiToken === null) throw new Error("VpsGateway: args.cfDnsApiToken is required");
}

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
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import { readAsset } from "./assets";
import type { SshTarget } from "./config/model";
import { pathSlug, pushHostFile, sshConnection, waitForSsh } from "./hostFile";
import type { HostFile } from "./render/hostFile";
import { asRoot, sha256 } from "./render/hostFile";
import {
    CF_TOKEN_SECRET,
    COMPOSE_PATH,
    FIREWALL_SCRIPT_PATH,
    FIREWALL_UNIT_NAME,
    GatewayImages,
    GatewayModel,
    HAPROXY_CFG_PATH,
    IMAGE_REPOSITORIES,
    TRAEFIK_DYNAMIC_DIR,
    TRAEFIK_DYNAMIC_FILE,
    TRAEFIK_STATIC_PATH,
    pinnedImage,
} from "./render/gatewayLayout";
import { GatewayRender, existingTraefikRequirements, gatewayCommands, gatewayPreflightArgs, renderCfTokenFile, renderFirewall, renderGateway } from "./render/gateway";
import { TraefikEntrypoint, traefikEntrypoints } from "./render/traefik";

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

    constructor(name: string, args: VpsGatewayArgs, opts?: pulumi.ComponentResourceOptions) {
        validateArgs(args);
        super("homemail:gateway:VpsGateway", name, {}, opts);
        const m = args.model;
        const ssh = m.vps.ssh;
        const existing = m.gateway.existingTraefikDynamicDir;
        const ownTraefik = existing === undefined;
        const commands = gatewayCommands(ownTraefik);

        const sshUp = waitForSsh(`${name}-ssh`, ssh, this);
        const preflightScript = readAsset("gateway/preflight.sh");
        const preflight = new command.remote.Command(
            `${name}-preflight`,
            {
                connection: sshConnection(ssh),
                create: asRoot(ssh.user, `bash -s -- ${gatewayPreflightArgs(m).join(" ")}`),
                stdin: preflightScript,
                triggers: [sha256(preflightScript)],
            },
            { parent: this, dependsOn: [sshUp] },
        );

        // The Docker provider talks to the VPS's daemon through the system `ssh` (and its agent).
        const provider = new docker.Provider(
            `${name}-docker`,
            {
                host: `ssh://${ssh.user}@${ssh.host}:${ssh.port}`,
                sshOpts: ["-o", "BatchMode=yes", "-o", "ConnectTimeout=30"],
            },
            { parent: this, dependsOn: [preflight] },
        );
        const wanted: ImageName[] = ownTraefik ? ["haproxy", "nginx", "traefik"] : ["haproxy", "nginx"];
        const pulled = Object.fromEntries(
            wanted.map((image) => [
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

        const rendered: pulumi.Output<GatewayRender> = this.images.apply((images) => renderGateway(m, images));
        const push = (path: string, pick: (r: GatewayRender) => HostFile | undefined, after: pulumi.Resource[]) =>
            pushHostFile(
                `${name}-file-${pathSlug(path)}`,
                rendered.apply((r) => {
                    const f = pick(r);
                    if (!f || f.path !== path) throw new Error(`${name}: render has no file ${path}`);
                    return f;
                }),
                { parent: this, ssh, dependsOn: after },
            );

        const token = renderCfTokenFile();
        const tokenFile = pushHostFile(`${name}-file-${pathSlug(token.path)}`, token, {
            parent: this,
            ssh,
            secrets: { [CF_TOKEN_SECRET]: args.cfDnsApiToken },
            dependsOn: [preflight],
        });
        const images = Object.values(pulled) as docker.RemoteImage[];
        const dynamicPath = `${existing ?? TRAEFIK_DYNAMIC_DIR}/${TRAEFIK_DYNAMIC_FILE}`;
        const staticFile = ownTraefik ? push(TRAEFIK_STATIC_PATH, (r) => r.traefikStatic, [preflight]) : undefined;
        const dynamicFile = push(dynamicPath, (r) => r.traefikDynamic, [preflight]);
        // Validated with the pulled HAProxy image itself, so it needs the image on the VPS first.
        const haproxyFile = push(HAPROXY_CFG_PATH, (r) => r.haproxy, images);
        const composeFile = push(COMPOSE_PATH, (r) => r.compose, [...images, haproxyFile, dynamicFile, ...(staticFile ? [staticFile] : [])]);

        const beforeUp: pulumi.Resource[] = [composeFile, tokenFile];
        if (m.gateway.firewall) {
            const fwFiles = renderFirewall(m, readAsset("gateway/firewall.sh"));
            const pushes = fwFiles.map((f) => pushHostFile(`${name}-file-${pathSlug(f.path)}`, f, { parent: this, ssh, dependsOn: [preflight] }));
            beforeUp.push(
                hashedStep(
                    `${name}-firewall`,
                    ssh,
                    {
                        apply: `${FIREWALL_SCRIPT_PATH} enable && ${FIREWALL_SCRIPT_PATH} verify && systemctl daemon-reload && systemctl enable ${FIREWALL_UNIT_NAME}`,
                        remove: `${FIREWALL_SCRIPT_PATH} disable && systemctl disable ${FIREWALL_UNIT_NAME}`,
                        hashes: fwFiles.map((f) => sha256(f.content)),
                    },
                    { parent: this, dependsOn: pushes },
                ),
            );
        }

        const hashOf = (pick: (r: GatewayRender) => HostFile | undefined) => rendered.apply((r) => sha256(pick(r)?.content ?? ""));
        const up = hashedStep(
            `${name}-up`,
            ssh,
            { apply: commands.up, remove: commands.down, hashes: [hashOf((r) => r.compose)] },
            { parent: this, dependsOn: beforeUp },
        );
        const reload = (role: string, cmd: string, triggers: pulumi.Input<string>[]) =>
            new command.remote.Command(
                `${name}-${role}`,
                { connection: sshConnection(ssh), create: asRoot(ssh.user, cmd), triggers },
                { parent: this, dependsOn: [up] },
            );
        if (ownTraefik) reload("traefik-restart", commands.restartTraefik, [hashOf((r) => r.traefikStatic)]);
        reload("haproxy-reload", commands.reloadHaproxy, [hashOf((r) => r.haproxy)]);

        this.entrypoints = traefikEntrypoints(m);
        this.existingTraefik = existing ? existingTraefikRequirements(m) : undefined;
        this.ready = up.stdout;
        this.registerOutputs({
            images: this.images,
            entrypoints: this.entrypoints,
            existingTraefik: this.existingTraefik,
            ready: this.ready,
        });
    }
}

/**
 * A step that must be re-run in place (not replaced) when its inputs change: `apply` runs on create
 * and on update, `remove` only when the step is deleted. The content hashes ride in a comment line of
 * the command, so a changed file is an update. (With `triggers` a change is a replacement, whose
 * default order - new create, then old delete - would end with the old `remove` undoing the new
 * `apply`; with deleteBeforeReplace, the firewall would be briefly off.)
 */
function hashedStep(
    name: string,
    ssh: SshTarget,
    step: { apply: string; remove: string; hashes: pulumi.Input<string>[] },
    opts: pulumi.CustomResourceOptions,
): command.remote.Command {
    const create = pulumi.all(step.hashes).apply((h) => `# homemail content sha256: ${h.join(" ")}\n${asRoot(ssh.user, step.apply)}`);
    return new command.remote.Command(
        name,
        { connection: sshConnection(ssh), create, update: create, delete: asRoot(ssh.user, step.remove) },
        opts,
    );
}


function validateArgs(args: VpsGatewayArgs): void {
    const m = args?.model;
    if (!m?.ports?.length || !m.addresses || !m.vps?.ssh?.host) throw new Error("VpsGateway: args.model must carry ports, addresses and vps.ssh");
    if (!m.images?.traefik || !m.images.haproxy || !m.images.nginx) throw new Error("VpsGateway: args.model.images must pin traefik, haproxy and nginx");
    if (args.cfDnsApiToken === undefined || args.cfDnsApiToken === null) throw new Error("VpsGateway: args.cfDnsApiToken is required");
}

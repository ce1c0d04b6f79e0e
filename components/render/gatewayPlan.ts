/**
 * The VPS gateway as host plans. Two phases, because the images are pulled (by the Docker provider,
 * not a remote command) between them:
 * - base: SSH answers -> preflight (Docker, compose, iptables);
 * - main: files (compose.yaml pins the digests just pulled) -> firewall -> `compose up` -> reloads
 *   of what changed.
 *
 * Pure: model, pinned images and script texts in, plans out.
 */
import { CF_TOKEN_SECRET, COMPOSE_PATH, FIREWALL_SCRIPT_PATH, HAPROXY_CFG_PATH, FIREWALL_UNIT_NAME, GatewayImages, GatewayModel } from "./gatewayLayout";
import { gatewayCommands, gatewayPreflightArgs, renderCfTokenFile, renderFirewall, renderGateway } from "./gateway";
import { HostFile, sha256 } from "./hostFile";
import { HostPlan, HostStep, PlannedFile, fileRole, pathSlug, sshWaitStep } from "./hostPlan";

export { CF_TOKEN_SECRET };

/** The image pulls the main plan runs after (outside resources of the executor), by image. */
export const imageRole = (image: keyof GatewayImages) => `image-${image}`;

/** Entries whose content names the pulled digests: compose.yaml, and haproxy.cfg (validated with the pulled image). */
export const GATEWAY_LIVE_ROLES: readonly string[] = [`file-${pathSlug(COMPOSE_PATH)}`, `file-${pathSlug(HAPROXY_CFG_PATH)}`];

/** Stands in for the pinned images when only the plan's shape is needed. */
export const SHAPE_IMAGES: GatewayImages = { traefik: "traefik@sha256:shape", haproxy: "haproxy@sha256:shape", nginx: "nginx@sha256:shape" };

/** The images homemail pulls: Traefik only when it runs its own. */
export function wantedImages(m: GatewayModel): (keyof GatewayImages)[] {
    return m.gateway.existingTraefikDynamicDir === undefined ? ["haproxy", "nginx", "traefik"] : ["haproxy", "nginx"];
}

export function planGatewayBase(m: GatewayModel, preflightScript: string): HostPlan {
    return {
        host: "vps",
        files: [],
        steps: [
            sshWaitStep("ssh"),
            {
                role: "preflight",
                command: `bash -s -- ${gatewayPreflightArgs(m).join(" ")}`,
                stdin: preflightScript,
                rerunOn: [sha256(preflightScript)],
                after: ["ssh"],
                strategy: "replace",
                undo: { kind: "nothing-to-undo", reason: "only reads the host (Docker, compose plugin, iptables, the public ports)" },
            },
        ],
    };
}

/** Main plan; `after` names the base plan's `preflight` and the pulls ({@link imageRole}) as outside resources. */
export function planGateway(m: GatewayModel, images: GatewayImages, firewallScript: string): HostPlan {
    const r = renderGateway(m, images);
    const ownTraefik = r.traefikStatic !== undefined;
    const commands = gatewayCommands(ownTraefik);
    const removed = (file: HostFile, after: string[]): PlannedFile => ({ file, after, undo: { kind: "remove-file" } });
    const pulls = wantedImages(m).map(imageRole);

    const token = removed(renderCfTokenFile(), ["preflight"]);
    const staticFile = r.traefikStatic ? removed(r.traefikStatic, ["preflight"]) : undefined;
    const dynamicFile = removed(r.traefikDynamic, ["preflight"]);
    // Validated with the pulled HAProxy image itself, so it needs the images on the VPS first.
    const haproxyFile = removed(r.haproxy, pulls);
    const composeFile = removed(r.compose, [...pulls, fileRole(haproxyFile), fileRole(dynamicFile), ...(staticFile ? [fileRole(staticFile)] : [])]);
    const firewallFiles = m.gateway.firewall ? renderFirewall(m, firewallScript).map((f) => removed(f, ["preflight"])) : [];

    const steps: HostStep[] = [];
    if (m.gateway.firewall) {
        steps.push({
            // In place: `enable` re-applies the chain in one transaction; replace would end with the
            // old `disable`, undo-first would leave the VPS open for a moment.
            role: "firewall",
            command: `${FIREWALL_SCRIPT_PATH} enable && ${FIREWALL_SCRIPT_PATH} verify && systemctl daemon-reload && systemctl enable ${FIREWALL_UNIT_NAME}`,
            rerunOn: firewallFiles.map((f) => sha256(f.file.content)),
            after: firewallFiles.map(fileRole),
            strategy: "in-place",
            undo: { kind: "replay-ledger", command: `${FIREWALL_SCRIPT_PATH} disable && systemctl disable ${FIREWALL_UNIT_NAME}` },
        });
    }
    steps.push({
        // In place: `compose up -d` recreates only what changed; the old `down` must never follow it.
        role: "up",
        command: commands.up,
        rerunOn: [],
        rerunOnFiles: [fileRole(composeFile)],
        after: [fileRole(composeFile), fileRole(token), ...(m.gateway.firewall ? ["firewall"] : [])],
        strategy: "in-place",
        undo: { kind: "stop-service", command: commands.down },
    });
    if (r.traefikStatic) {
        steps.push({
            // The static config is read at start only, and so is the Cloudflare token file (the
            // dns-01 provider reads CF_DNS_API_TOKEN_FILE once per process): a new token needs a restart.
            role: "traefik-restart",
            command: commands.restartTraefik,
            rerunOn: [sha256(r.traefikStatic.content)],
            rerunOnFiles: [fileRole(token)],
            after: ["up"],
            strategy: "replace",
            undo: { kind: "nothing-to-undo", reason: "restarts a running service; gateway-up's undo stops it" },
        });
    }
    steps.push({
        role: "haproxy-reload",
        command: commands.reloadHaproxy,
        rerunOn: [sha256(r.haproxy.content)],
        after: ["up"],
        strategy: "replace",
        undo: { kind: "nothing-to-undo", reason: "reloads a running service; gateway-up's undo stops it" },
    });
    return { host: "vps", files: [token, ...(staticFile ? [staticFile] : []), dynamicFile, haproxyFile, composeFile, ...firewallFiles], steps };
}

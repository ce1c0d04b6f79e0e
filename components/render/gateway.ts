/**
 * Everything the VPS gateway puts on the VPS, as host files, plus the fixed commands that start and
 * reload it. Pure: model (+ pinned image references) in, files and command strings out.
 *
 * Reload discipline (each step's trigger is the hash of exactly what it depends on):
 * - compose.yaml changed -> `docker compose up -d` (recreates only services whose definition changed);
 * - traefik.yml changed -> restart Traefik (the static config is read at start only);
 * - the dynamic file changed -> nothing (the file provider watches its directory);
 * - haproxy.cfg changed -> `docker compose kill -s USR2 haproxy` (master-worker reload, no drop).
 */
import { HostFile, publicHostFile, secretHostFile, secretSlot, shellQuote } from "./hostFile";
import { renderGatewayCompose } from "./gatewayCompose";
import { renderHaproxyConfig } from "./haproxy";
import { renderTraefikDynamic, renderTraefikStatic, traefikEntrypoints, TraefikEntrypoint, RESOLVER_DNS } from "./traefik";
import {
    CF_TOKEN_PATH,
    CF_TOKEN_SECRET,
    COMPOSE_PATH,
    COMPOSE_PROJECT,
    CONTAINER,
    FIREWALL_CHAIN,
    FIREWALL_ENV_PATH,
    FIREWALL_SCRIPT_PATH,
    FIREWALL_STATE_DIR,
    FIREWALL_UNIT_NAME,
    FIREWALL_UNIT_PATH,
    GATEWAY_DIR,
    GatewayImages,
    GatewayModel,
    HAPROXY_CFG_PATH,
    HAPROXY_DIR,
    TRAEFIK_ACME_DIR,
    TRAEFIK_DYNAMIC_DIR,
    TRAEFIK_DYNAMIC_FILE,
    TRAEFIK_STATIC_PATH,
    WKD_DIR,
} from "./gatewayLayout";

/** What {@link renderGateway} returns. */
export interface GatewayRender {
    /** compose.yaml (always present). */
    readonly compose: HostFile;
    /** traefik.yml, only when homemail runs its own Traefik. */
    readonly traefikStatic?: HostFile;
    /** homemail's dynamic file, in its own dynamic dir or the existing Traefik's. */
    readonly traefikDynamic: HostFile;
    readonly haproxy: HostFile;
    /** Entrypoints the dynamic file refers to (an existing Traefik must define them). */
    readonly entrypoints: readonly TraefikEntrypoint[];
    /** Fixed shell commands of the remote steps (no content, no secret). */
    readonly commands: GatewayCommands;
}

export interface GatewayCommands {
    /** Creates the data directories and starts/updates the project. */
    readonly up: string;
    /** Stops the project (the component's delete). */
    readonly down: string;
    /** Restarts Traefik after its static config changed. */
    readonly restartTraefik: string;
    /** Reloads HAProxy's configuration without dropping connections. */
    readonly reloadHaproxy: string;
}

const file = (path: string, content: string, extra: Partial<HostFile> = {}): HostFile => publicHostFile("vps", path, content, extra);

const compose = (args: string) => `docker compose --project-directory ${GATEWAY_DIR} -f ${COMPOSE_PATH} ${args}`;

/**
 * The arguments of the gateway preflight (assets/gateway/preflight.sh, read from stdin by `bash -s`):
 * every public port of the port table with the process that takes it, the compose project whose
 * containers may already hold them (a re-run on a running gateway), and, with an existing Traefik,
 * that a process named `traefik` may hold Traefik's ports.
 */
export function gatewayPreflightArgs(m: Pick<GatewayModel, "ports" | "gateway">): string[] {
    const ports = [...m.ports].sort((a, b) => a.publicPort - b.publicPort).map((p) => `${p.process}:${p.publicPort}`);
    return [
        ...(m.gateway.firewall ? ["--firewall"] : []),
        "--ports",
        ports.join(","),
        "--project",
        COMPOSE_PROJECT,
        ...(m.gateway.existingTraefikDynamicDir !== undefined ? ["--existing-traefik"] : []),
    ];
}

/** The fixed commands of the gateway's remote steps (they run as root on the VPS). */
export function gatewayCommands(withTraefik: boolean): GatewayCommands {
    return {
        // Long-syntax binds do not create their source: every mounted directory must exist first.
        up: [
            "set -eu",
            `install -d -m 0755 ${GATEWAY_DIR} ${HAPROXY_DIR} ${WKD_DIR}`,
            ...(withTraefik ? [`install -d -m 0700 ${TRAEFIK_ACME_DIR}`] : []),
            compose("up -d --remove-orphans --wait"),
        ].join("\n"),
        down: compose("down"),
        restartTraefik: compose("restart traefik"),
        reloadHaproxy: compose("kill -s USR2 haproxy"),
    };
}

/** The whole gateway for one model and its pinned images. */
export function renderGateway(m: GatewayModel, images: GatewayImages): GatewayRender {
    const existing = m.gateway.existingTraefikDynamicDir;
    const dynamicDir = existing ?? TRAEFIK_DYNAMIC_DIR;
    const haproxyCfg = renderHaproxyConfig(m);
    return {
        compose: file(COMPOSE_PATH, renderGatewayCompose(images, { traefik: !existing }), {
            validate: `docker compose --project-directory ${GATEWAY_DIR} -f {} config -q`,
        }),
        ...(existing ? {} : { traefikStatic: file(TRAEFIK_STATIC_PATH, renderTraefikStatic(m)) }),
        traefikDynamic: file(`${dynamicDir}/${TRAEFIK_DYNAMIC_FILE}`, renderTraefikDynamic(m, { adminRouter: !existing })),
        haproxy: file(HAPROXY_CFG_PATH, haproxyCfg, {
            // The staged copy sits in a root-only staging directory: mounted as the one file the
            // image's HAProxy (not root) reads, so no directory on its way needs to be readable.
            validate: `docker run --rm --network none -v {}:${CONTAINER.haproxyDir}/haproxy.cfg:ro ${shellQuote(images.haproxy)} haproxy -c -q -f ${CONTAINER.haproxyDir}/haproxy.cfg`,
        }),
        entrypoints: traefikEntrypoints(m),
        commands: gatewayCommands(!existing),
    };
}

/** The non-secret files of a render, in a stable order. */
export function gatewayFiles(r: GatewayRender): HostFile[] {
    return [r.compose, ...(r.traefikStatic ? [r.traefikStatic] : []), r.traefikDynamic, r.haproxy];
}

/**
 * The Cloudflare dns-01 token file: the one secret slot and nothing else (no newline: lego reads the
 * whole file as the token); the component fills in the secret right before stdin.
 */
export function renderCfTokenFile(): HostFile {
    return secretHostFile("vps", CF_TOKEN_PATH, [secretSlot(CF_TOKEN_SECRET)]);
}

/** What an existing Traefik needs for homemail's dynamic file (reported as a stack output). */
export function existingTraefikRequirements(m: GatewayModel): {
    dynamicFile: string;
    entrypoints: readonly TraefikEntrypoint[];
    certificateResolver: string;
    cloudflareTokenFile: string;
} {
    return {
        dynamicFile: `${m.gateway.existingTraefikDynamicDir ?? TRAEFIK_DYNAMIC_DIR}/${TRAEFIK_DYNAMIC_FILE}`,
        entrypoints: traefikEntrypoints(m),
        certificateResolver: RESOLVER_DNS,
        cloudflareTokenFile: CF_TOKEN_PATH,
    };
}

/**
 * The firewall: the script (assets/gateway/firewall.sh, passed in unchanged), its env file (read,
 * not sourced, by the script) and the unit that re-applies it at boot (iptables rules do not
 * survive a reboot; the state directory does).
 */
export function renderFirewall(m: GatewayModel, script: string): HostFile[] {
    const tcp = [...new Set([m.vps.ssh.port, ...m.ports.filter((p) => p.protocol === "tcp").map((p) => p.publicPort)])].sort((a, b) => a - b);
    const env = [
        "# managed by homemail, do not edit",
        "# Settings of homemail-gateway-firewall: inbound TCP/UDP ports the VPS accepts (port table, SSH,",
        "# WireGuard); everything else that is not loopback or part of an established flow is dropped.",
        `HOMEMAIL_FW_CHAIN=${FIREWALL_CHAIN}`,
        `HOMEMAIL_FW_SSH_PORT=${m.vps.ssh.port}`,
        `HOMEMAIL_FW_TCP_PORTS=${tcp.join(",")}`,
        `HOMEMAIL_FW_UDP_PORTS=${m.addresses.wgPort}`,
        `HOMEMAIL_STATE_DIR=${FIREWALL_STATE_DIR}`,
        "",
    ].join("\n");
    const unit = [
        "# managed by homemail, do not edit",
        "[Unit]",
        "Description=homemail VPS host firewall (iptables chain HOMEMAIL-IN)",
        "DefaultDependencies=no",
        "Before=network-pre.target docker.service",
        "Wants=network-pre.target",
        "After=local-fs.target",
        "",
        "[Service]",
        "Type=oneshot",
        "RemainAfterExit=yes",
        `ExecStart=${FIREWALL_SCRIPT_PATH} enable`,
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
    return [file(FIREWALL_SCRIPT_PATH, script, { mode: "0755" }), file(FIREWALL_ENV_PATH, env), file(FIREWALL_UNIT_PATH, unit)];
}

export { FIREWALL_UNIT_NAME, FIREWALL_SCRIPT_PATH, FIREWALL_ENV_PATH, COMPOSE_PROJECT };

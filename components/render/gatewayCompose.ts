/**
 * The gateway compose project (`/opt/homemail/gateway/compose.yaml`): Traefik (unless an existing
 * Traefik is used), HAProxy and the WKD nginx, all on the host network, each image pinned to the
 * digest Docker reported when it pulled the configured tag. Pure: no I/O, no clock.
 *
 * Against the blog post's compose file: no Docker socket, directories mounted (never single
 * files: an atomic `mv` replaces the inode a file mount would keep showing), no `443/udp`, no
 * published dashboard, capabilities dropped to what binding low ports needs.
 */
import { stringify } from "yaml";
import {
    CF_TOKEN_FILE,
    COMPOSE_PROJECT,
    CONTAINER,
    GatewayImages,
    HAPROXY_DIR,
    SECRETS_DIR,
    TRAEFIK_ACME_DIR,
    TRAEFIK_DIR,
    WKD_DIR,
} from "./gatewayLayout";
import { CF_TOKEN_ENV, CF_ZONE_TOKEN_ENV } from "./traefik";
import { WKD_SERVICE } from "./wkdSite";

export interface ComposeOptions {
    /** Include the Traefik service (false when `gateway.existingTraefikDynamicDir` is set). */
    readonly traefik: boolean;
}

const bind = (source: string, target: string, readOnly: boolean) => ({ type: "bind", source, target, read_only: readOnly });
const logging = { driver: "json-file", options: { "max-file": "5", "max-size": "10m" } };
const hardening = { security_opt: ["no-new-privileges:true"], cap_drop: ["ALL"] };

export function renderGatewayCompose(images: GatewayImages, opts: ComposeOptions): string {
    const services: Record<string, unknown> = {
        haproxy: {
            image: images.haproxy,
            network_mode: "host",
            restart: "unless-stopped",
            // Root only to bind :25 on the host network (no sysctls there); workers drop to `haproxy`.
            user: "root",
            ...hardening,
            cap_add: ["NET_BIND_SERVICE", "SETGID", "SETUID"],
            read_only: true,
            // The image's STOPSIGNAL is SIGUSR1 (soft stop): give SMTP sessions time to finish.
            stop_grace_period: "1m",
            volumes: [bind(HAPROXY_DIR, CONTAINER.haproxyDir, true)],
            logging,
        },
        [WKD_SERVICE]: {
            image: images.nginx,
            network_mode: "host",
            restart: "unless-stopped",
            security_opt: hardening.security_opt,
            // The directory replaces the image's conf.d (and its default.conf, which would bind :80).
            volumes: [bind(WKD_DIR, CONTAINER.wkdDir, true)],
            logging,
        },
    };
    if (opts.traefik) {
        services.traefik = {
            image: images.traefik,
            network_mode: "host",
            restart: "unless-stopped",
            command: [`--configFile=${CONTAINER.traefikStatic}`],
            environment: {
                [CF_TOKEN_ENV]: `${CONTAINER.secretsDir}/${CF_TOKEN_FILE}`,
                [CF_ZONE_TOKEN_ENV]: `${CONTAINER.secretsDir}/${CF_TOKEN_FILE}`,
            },
            ...hardening,
            cap_add: ["NET_BIND_SERVICE"],
            read_only: true,
            tmpfs: ["/tmp"],
            volumes: [
                bind(TRAEFIK_DIR, CONTAINER.traefikDir, true),
                bind(TRAEFIK_ACME_DIR, CONTAINER.traefikAcmeDir, false),
                bind(SECRETS_DIR, CONTAINER.secretsDir, true),
            ],
            healthcheck: {
                test: ["CMD", "traefik", "healthcheck", `--configFile=${CONTAINER.traefikStatic}`],
                interval: "30s",
                timeout: "5s",
                retries: 3,
            },
            logging,
        };
    }
    const header = [
        "# managed by homemail, do not edit",
        "# The homemail VPS gateway. Images are pinned to the digests pulled at `pulumi up`.",
        "# Traefik and HAProxy use the host network: they reach home over wg0 and the host firewall",
        "# (HOMEMAIL-IN) applies to them.",
        "",
    ].join("\n");
    return `${header}${stringify({ name: COMPOSE_PROJECT, services }, { sortMapEntries: true, lineWidth: 0, aliasDuplicateObjects: false })}`;
}

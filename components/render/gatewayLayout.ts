/**
 * Where the VPS gateway's files live (on the host and inside its containers), how port-table rows
 * are named as Traefik entrypoints, and how a pulled image is pinned. Pure data and small pure
 * helpers shared by the gateway renderers and the VpsGateway component.
 */
import type { Model, PortRow } from "../config/model";

/** The gateway compose project on the VPS (ARCHITECTURE.md, "Files on the hosts"). */
export const GATEWAY_DIR = "/opt/homemail/gateway";
export const COMPOSE_PATH = `${GATEWAY_DIR}/compose.yaml`;
/** Compose project name (`name:` in compose.yaml); container names derive from it. */
export const COMPOSE_PROJECT = "homemail-gateway";

export const TRAEFIK_DIR = `${GATEWAY_DIR}/traefik`;
export const TRAEFIK_STATIC_PATH = `${TRAEFIK_DIR}/traefik.yml`;
export const TRAEFIK_DYNAMIC_DIR = `${TRAEFIK_DIR}/dynamic`;
/** Name of homemail's dynamic file, in its own dynamic dir or in an existing Traefik's. */
export const TRAEFIK_DYNAMIC_FILE = "homemail.yml";
/** ACME account and certificate storage (written by Traefik, never by homemail). */
export const TRAEFIK_ACME_DIR = `${TRAEFIK_DIR}/acme`;

export const HAPROXY_DIR = `${GATEWAY_DIR}/haproxy`;
export const HAPROXY_CFG_PATH = `${HAPROXY_DIR}/haproxy.cfg`;

/** The WKD/MTA-STS site's directory; its files come from WkdSite (docs/integration.md). */
export const WKD_DIR = `${GATEWAY_DIR}/wkd`;

export const SECRETS_DIR = `${GATEWAY_DIR}/secrets`;
export const CF_TOKEN_FILE = "cf_dns_api_token";
export const CF_TOKEN_PATH = `${SECRETS_DIR}/${CF_TOKEN_FILE}`;
/** Placeholder name of the ACME dns-01 token in rendered text. */
export const CF_TOKEN_SECRET = "cfDnsApiToken";

/** Mount points inside the containers. Directories only: an atomic `mv` must be visible inside. */
export const CONTAINER = Object.freeze({
    traefikDir: "/etc/traefik",
    traefikStatic: "/etc/traefik/traefik.yml",
    traefikDynamicDir: "/etc/traefik/dynamic",
    traefikAcmeDir: "/etc/traefik/acme",
    secretsDir: "/run/secrets/homemail",
    haproxyDir: "/usr/local/etc/haproxy",
    wkdDir: "/etc/nginx/conf.d",
});

/** The VPS host firewall: script, its env file, the boot unit and where it records what it did. */
export const FIREWALL_SCRIPT_PATH = "/usr/local/sbin/homemail-gateway-firewall";
export const FIREWALL_ENV_PATH = "/etc/homemail/gateway-firewall.env";
export const FIREWALL_UNIT_NAME = "homemail-gateway-firewall.service";
export const FIREWALL_UNIT_PATH = `/etc/systemd/system/${FIREWALL_UNIT_NAME}`;
export const FIREWALL_STATE_DIR = "/var/lib/homemail/gateway-firewall";
export const FIREWALL_CHAIN = "HOMEMAIL-IN";

/**
 * Traefik's own API/dashboard and ping entrypoint: loopback only, never in the port table, never
 * reachable from outside (reach it with `ssh -L 8080:127.0.0.1:8080`).
 */
export const TRAEFIK_ADMIN_ENTRYPOINT = Object.freeze({ name: "traefik", address: "127.0.0.1", port: 8080 });

/** The model slice the gateway renderers read. */
export type GatewayModel = Pick<
    Model,
    "ports" | "proxyV2Ports" | "addresses" | "passthroughHosts" | "domains" | "mailHost" | "acmeEmail" | "images" | "gateway" | "vps"
>;

/**
 * Traefik entrypoint name of a port-table row: `web` (80) and `web-secure` (443) as in the blog
 * post, the row's own name for the mail ports (`submissions`, `imaps`, `pop3s`, `sieve`).
 */
export function entrypointName(row: PortRow): string {
    if (row.process !== "traefik") throw new Error(`port ${row.publicPort} (${row.name}) is not a Traefik port`);
    if (row.mode === "http") return "web";
    if (row.name === "https") return "web-secure";
    return row.name;
}

/** Rows taken by Traefik / by HAProxy, in port order. */
export const traefikRows = (m: Pick<Model, "ports">): PortRow[] => m.ports.filter((r) => r.process === "traefik");
export const haproxyRows = (m: Pick<Model, "ports">): PortRow[] => m.ports.filter((r) => r.process === "haproxy");

/** The three images of the gateway project, each `repository:tag@sha256:<digest>`. */
export interface GatewayImages {
    readonly traefik: string;
    readonly haproxy: string;
    readonly nginx: string;
}

/** Docker Hub repositories of the pinned tags (`model.images`). */
export const IMAGE_REPOSITORIES = Object.freeze({ traefik: "traefik", haproxy: "haproxy", nginx: "nginx" });

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * `repository:tag@sha256:…` from the tag in config and the digest Docker reported after pulling it
 * (`RemoteImage.repoDigest`, `repo@sha256:…` or a bare `sha256:…`). Refuses anything that is not
 * exactly one sha256 digest: a digest nobody confirmed must never reach compose.yaml.
 */
export function pinnedImage(repository: string, tag: string, repoDigest: string): string {
    const at = repoDigest.lastIndexOf("@");
    const digest = at >= 0 ? repoDigest.slice(at + 1) : repoDigest;
    if (!DIGEST.test(digest)) throw new Error(`image ${repository}:${tag}: "${repoDigest}" is not a sha256 digest reported by Docker`);
    if (at > 0 && !repoDigest.slice(0, at).split(":")[0].endsWith(repository)) {
        throw new Error(`image ${repository}:${tag}: digest ${repoDigest} belongs to another repository`);
    }
    return `${repository}:${tag}@${digest}`;
}

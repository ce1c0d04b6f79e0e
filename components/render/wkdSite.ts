/**
 * Everything of the WKD/MTA-STS site on the VPS, from the model: the host files (nginx server block,
 * WKD tree, MTA-STS policy), the step that prepares their directories and removes what is no longer
 * published, the nginx reload step, the compose service, and what Traefik needs to route to it.
 *
 * Layout on the VPS (docs/integration.md; containers mount directories, never single files):
 *   /opt/homemail/gateway/wkd/                mounted read-only as the image's /etc/nginx/conf.d
 *   /opt/homemail/gateway/wkd/nginx.conf      server block, listens on the VPS loopback (host network)
 *   /opt/homemail/gateway/wkd/public/         document root (/etc/nginx/conf.d/public in the container)
 *     .well-known/openpgpkey/<domain>/policy  empty (the domain takes part in WKD)
 *     .well-known/openpgpkey/<domain>/hu/<h>  binary minimal key
 *     .well-known/mta-sts.txt                 MTA-STS policy (the same for every domain)
 *
 * Pure: no I/O, no clock.
 */
import type { Model } from "../config/model";
import { COMPOSE_PATH, CONTAINER, WKD_DIR } from "./gatewayLayout";
import type { HostFile } from "./hostFile";
import { publicHostFile, shellQuote } from "./hostFile";
import { renderMtaStsPolicy } from "./mtaSts";
import { renderWkdTree, wkdDomainDir } from "./wkd";
import { wkdUrl } from "./wkdHash";
import { renderWkdNginxConf } from "./wkdNginx";

/** Directory of the site on the VPS (gateway layout); mounted read-only as the container's conf.d. */
export { WKD_DIR };
/** The server-block file (the image's main config includes `conf.d/*.conf`). */
export const WKD_CONF = `${WKD_DIR}/nginx.conf`;
/** Document root on the VPS: {@link WKD_CONTAINER_ROOT} in the container. */
export const WKD_PUBLIC = `${WKD_DIR}/public`;
/** Where the image's main config includes server blocks from; the whole site directory is mounted there. */
export const WKD_CONTAINER_CONF_DIR = CONTAINER.wkdDir;
export const WKD_CONTAINER_ROOT = `${WKD_CONTAINER_CONF_DIR}/public`;
/** The MTA-STS policy, relative to the document root (RFC 8461, section 3.3). */
export const MTA_STS_FILE = ".well-known/mta-sts.txt";
/** The site's service in the gateway compose project ({@link COMPOSE_PATH}). */
export const WKD_SERVICE = "wkd";

/** What Traefik needs to route the site (the routers themselves are the gateway's). */
export interface WkdRoutes {
    /** `openpgpkey.<domain>` and `mta-sts.<domain>` of every mail domain, sorted. */
    readonly hosts: readonly string[];
    /** Where nginx answers on the VPS: `http://127.0.0.1:8088`. */
    readonly backendUrl: string;
}

export interface WkdSiteRender {
    /** Every file of the site, sorted by path; all public, mode 0644, owned by root. */
    readonly files: readonly HostFile[];
    /** Every directory of the site, sorted (parents first); 0755 so the container's nginx user reads them. */
    readonly directories: readonly string[];
    /**
     * Runs before the files are pushed: makes {@link directories} mode 0755 (also ones an older
     * version left 0700) and deletes every file or directory under
     * `.well-known/openpgpkey/` that is no longer published (a removed user's key must disappear).
     */
    readonly prepareScript: string;
    /** Reloads nginx in the running container after its server block changed; a no-op when not running yet. */
    readonly reloadScript: string;
    readonly routes: WkdRoutes;
    /** Every published address and its URL, for stack outputs and checks. */
    readonly keys: readonly { readonly address: string; readonly fingerprint: string; readonly url: string }[];
}

export type WkdSiteModel = Pick<Model, "domains" | "wkd" | "mailHost" | "mtaSts" | "images"> & {
    readonly addresses: Pick<Model["addresses"], "wkdListen">;
};

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function publicFile(path: string, content: string, opts: { base64?: boolean; validate?: string } = {}): HostFile {
    return publicHostFile("vps", path, content, {
        ...(opts.base64 ? { encoding: "base64" as const } : {}),
        ...(opts.validate ? { validate: opts.validate } : {}),
    });
}

/**
 * `pinnedImage`: the nginx image the gateway pulled, `nginx:<tag>@sha256:<digest>` (what its compose
 * service runs, so the check is the same nginx, and Docker never pulls a tag by itself). Default: the
 * tag alone, for a site rendered without a gateway (tests, shape).
 */
export function renderWkdSite(model: WkdSiteModel, pinnedImage?: string): WkdSiteRender {
    const domains = [...model.domains].sort((a, b) => cmp(a.name, b.name));
    const image = pinnedImage ?? wkdImage(model);
    const tree = renderWkdTree(model);

    const conf = renderWkdNginxConf({ domains, listen: model.addresses.wkdListen, root: WKD_CONTAINER_ROOT });
    // Checked by the pinned image's own nginx before it replaces the live file.
    const validate = `docker run --rm --network none -v {}:${WKD_CONTAINER_CONF_DIR}/wkd.conf:ro ${image} nginx -t -q`;
    const files: HostFile[] = [
        publicFile(WKD_CONF, conf, { validate }),
        publicFile(`${WKD_PUBLIC}/${MTA_STS_FILE}`, renderMtaStsPolicy(model)),
        ...tree.map((f) =>
            f.bytes.length === 0 ? publicFile(`${WKD_PUBLIC}/${f.path}`, "") : publicFile(`${WKD_PUBLIC}/${f.path}`, Buffer.from(f.bytes).toString("base64"), { base64: true }),
        ),
    ].sort((a, b) => cmp(a.path, b.path));

    const wkdRoot = `${WKD_PUBLIC}/.well-known/openpgpkey`;
    const directories = [
        ...new Set([
            WKD_DIR,
            WKD_PUBLIC,
            `${WKD_PUBLIC}/.well-known`,
            wkdRoot,
            ...domains.flatMap((d) => [`${WKD_PUBLIC}/${wkdDomainDir(d.name)}`, `${WKD_PUBLIC}/${wkdDomainDir(d.name)}/hu`]),
            ...files.map((f) => f.path.slice(0, f.path.lastIndexOf("/"))),
        ]),
    ].sort(cmp);
    const keep = (paths: readonly string[]) => paths.map((p) => `    ${shellQuote(p)}) ;;`);
    const prepareScript = [
        "set -eu",
        `install -d -m 0755 -o root -g root ${directories.map(shellQuote).join(" ")}`,
        `r=${shellQuote(wkdRoot)}`,
        "# Files no longer published (removed users, keys, domains) go; staging leftovers too.",
        `find "$r" -mindepth 1 ! -type d | LC_ALL=C sort | while IFS= read -r p; do`,
        `  case "$p" in`,
        ...keep(files.filter((f) => f.path.startsWith(`${wkdRoot}/`)).map((f) => f.path)),
        `    *) rm -f -- "$p"; echo "removed $p" ;;`,
        "  esac",
        "done",
        `find "$r" -mindepth 1 -depth -type d | while IFS= read -r p; do`,
        `  case "$p" in`,
        ...keep(directories.filter((d) => d.startsWith(`${wkdRoot}/`))),
        `    *) rm -rf -- "$p"; echo "removed $p/" ;;`,
        "  esac",
        "done",
        "",
    ].join("\n");

    const compose = shellQuote(COMPOSE_PATH);
    const reloadScript = [
        "set -eu",
        `if [ -f ${compose} ] && docker compose -f ${compose} ps --status running --services 2>/dev/null | grep -qx ${WKD_SERVICE}; then`,
        `  docker compose -f ${compose} exec -T ${WKD_SERVICE} nginx -s reload`,
        "  echo reloaded",
        "else",
        `  echo "${WKD_SERVICE} is not running; it reads the new config when the gateway starts it"`,
        "fi",
        "",
    ].join("\n");

    return {
        files,
        directories,
        prepareScript,
        reloadScript,
        routes: wkdRoutes(model),
        keys: model.wkd.publications.map((p) => ({ address: p.address, fingerprint: p.fingerprint, url: wkdUrl(p.address) })),
    };
}

/** The site's nginx image by tag (the gateway pins it by digest: see {@link renderWkdSite}). */
export function wkdImage(model: Pick<Model, "images">): string {
    return `nginx:${model.images.nginx}`;
}

/** What the gateway's Traefik routes to the site: the hosts (TLS from the dns-01 resolver) and the backend. */
export function wkdRoutes(model: Pick<Model, "domains"> & { readonly addresses: Pick<Model["addresses"], "wkdListen"> }): WkdRoutes {
    const { address, port } = model.addresses.wkdListen;
    return {
        hosts: model.domains.flatMap((d) => [d.openpgpkeyHost, d.mtaStsHost]).sort(cmp),
        backendUrl: `http://${address}:${port}`,
    };
}


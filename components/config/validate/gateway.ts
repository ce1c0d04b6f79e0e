/** The VPS gateway: pinned images, the firewall switch, an existing Traefik's dynamic directory. */
import { DEFAULTS } from "../defaults";
import type { Model } from "../model";
import { Ctx, key } from "./context";
import { hostDirectory, normalDirectory } from "./paths";

const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const GATEWAY_DIR = "/opt/homemail/gateway";

/** One image tag: a pin (never `latest`), of the release line homemail renders configuration for. */
function imageTag(ctx: Ctx, name: "traefik" | "haproxy" | "nginx"): string | undefined {
    const tag = ctx.raw.images?.[name] ?? DEFAULTS.images[name];
    const where = key("images", `.${name}`);
    const fix = `pin a release tag, e.g. pulumi config set --path homemail:images.${name} ${DEFAULTS.images[name]}`;
    if (!IMAGE_TAG.test(tag) || tag === "latest") {
        ctx.problems.add(where, tag === "latest" ? `"latest" is not a pin` : `"${tag}" is not an image tag`, fix);
        return undefined;
    }
    if (name === "traefik" && /^v?3\.5\.2$/.test(tag)) {
        ctx.problems.add(where, "Traefik v3.5.2 sends wrong PROXY protocol addresses", `use ${DEFAULTS.images.traefik}`);
        return undefined;
    }
    // The gateway renders Traefik v3.6+ configuration (tcp.serversTransports with PROXY v2).
    const traefik = /^v?3\.(\d+)\.\d+$/.exec(tag);
    if (name === "traefik" && (!traefik || Number(traefik[1]) < 6)) {
        ctx.problems.add(where, `"${tag}" is not a Traefik v3.6 or newer release tag (homemail renders Traefik v3.6+ configuration)`, `pin a release such as ${DEFAULTS.images.traefik}`);
        return undefined;
    }
    if (name === "haproxy" && !/^3\.2\.\d+(-[a-z0-9.]+)?$/.test(tag)) {
        ctx.problems.add(where, `"${tag}" is not an HAProxy 3.2 LTS release tag (haproxy.cfg is kept to what 3.2 accepts)`, `pin a 3.2 release such as ${DEFAULTS.images.haproxy}`);
        return undefined;
    }
    return tag;
}

export function validateImages(ctx: Ctx): Pick<Model["images"], "traefik" | "haproxy" | "nginx"> | undefined {
    const [traefik, haproxy, nginx] = (["traefik", "haproxy", "nginx"] as const).map((n) => imageTag(ctx, n));
    return traefik && haproxy && nginx ? { traefik, haproxy, nginx } : undefined;
}

/** `gateway.*`; undefined after a problem. */
export function validateGateway(ctx: Ctx): Model["gateway"] | undefined {
    const g = ctx.raw.gateway ?? {};
    const firewall = g.firewall ?? DEFAULTS.gatewayFirewall;
    if (g.existingTraefikDynamicDir === undefined) return { firewall };
    const where = key("gateway", ".existingTraefikDynamicDir");
    if (`${normalDirectory(g.existingTraefikDynamicDir)}/`.startsWith(`${GATEWAY_DIR}/`)) {
        ctx.problems.add(where, `"${g.existingTraefikDynamicDir}" is homemail's own gateway directory`, "use the directory your existing Traefik's file provider watches, e.g. /opt/traefik/dynamic");
        return undefined;
    }
    const dir = hostDirectory(ctx, where, g.existingTraefikDynamicDir, "/opt/traefik/dynamic");
    return dir ? { firewall, existingTraefikDynamicDir: dir } : undefined;
}

/** The VPS gateway: image pins, the firewall switch, an existing Traefik's dynamic directory. */
import type { InvalidCase } from "./cases";

const dir = (existingTraefikDynamicDir: string) => [{ key: "homemail:gateway", value: { existingTraefikDynamicDir } }];

export const GATEWAY_CASES: InvalidCase[] = [
    { title: "image pinned to latest", changes: [{ key: "homemail:images", value: { traefik: "latest" } }], key: "homemail:images.traefik", mentions: "not a pin" },
    { title: "Traefik 3.5.2 (wrong PROXY addresses)", changes: [{ key: "homemail:images", value: { traefik: "v3.5.2" } }], key: "homemail:images.traefik", mentions: "PROXY" },
    { title: "Traefik older than v3.6", changes: [{ key: "homemail:images", value: { traefik: "v3.4.5" } }], key: "homemail:images.traefik", mentions: "v3.6 or newer" },
    { title: "Traefik v2 tag", changes: [{ key: "homemail:images", value: { traefik: "v2.11.20" } }], key: "homemail:images.traefik", mentions: "v3.6 or newer" },
    { title: "Traefik tag without a patch release", changes: [{ key: "homemail:images", value: { traefik: "v3.7" } }], key: "homemail:images.traefik", mentions: "release tag" },
    { title: "HAProxy outside the 3.2 LTS line", changes: [{ key: "homemail:images", value: { haproxy: "3.3.14" } }], key: "homemail:images.haproxy", mentions: "3.2 LTS" },
    { title: "HAProxy image tag malformed", changes: [{ key: "homemail:images", value: { haproxy: "3.2 .1" } }], key: "homemail:images.haproxy", mentions: "not an image tag" },
    { title: "nginx tag with a digest-like colon", changes: [{ key: "homemail:images", value: { nginx: "1.29.3:evil" } }], key: "homemail:images.nginx", mentions: "not an image tag" },
    { title: "nginx pinned to latest", changes: [{ key: "homemail:images", value: { nginx: "latest" } }], key: "homemail:images.nginx", mentions: "not a pin" },
    { title: "unknown image key gets a suggestion", changes: [{ key: "homemail:images", value: { trafik: "v3.7.16" } }], key: "homemail:images.trafik", mentions: "did you mean homemail:images.traefik" },
    { title: "firewall switch not a boolean", changes: [{ key: "homemail:gateway", value: { firewall: "yes" } }], key: "homemail:gateway.firewall", mentions: "boolean" },
    { title: "unknown gateway field gets a suggestion", changes: [{ key: "homemail:gateway", value: { firewal: false } }], key: "homemail:gateway.firewal", mentions: "did you mean homemail:gateway.firewall" },
    { title: "existing Traefik dir relative", changes: dir("traefik/dynamic"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "absolute path" },
    { title: "existing Traefik dir is homemail's own gateway dir", changes: dir("/opt/homemail/gateway/traefik/dynamic"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "homemail's own gateway directory" },
    { title: "existing Traefik dir with ..", changes: dir("/opt/traefik/../homemail"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "absolute path" },
    { title: "existing Traefik dir hiding homemail's own behind /./", changes: dir("/opt/homemail/./gateway/traefik"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "homemail's own gateway directory" },
    { title: "existing Traefik dir with a double slash", changes: dir("/opt//traefik/dynamic"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "write it as /opt/traefik/dynamic" },
    { title: "existing Traefik dir is /etc", changes: dir("/etc"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "system directory /etc" },
    { title: "existing Traefik dir is /", changes: dir("/"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "root directory" },
    { title: "existing Traefik dir under /proc", changes: dir("/proc/self/cwd"), key: "homemail:gateway.existingTraefikDynamicDir", mentions: "not storage" },
];

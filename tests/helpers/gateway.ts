/**
 * The gateway rendered from a model, parsed back into data, for tests. Images are test-only pins
 * (made-up digests), never real ones.
 */
import { parse } from "yaml";
import type { Model } from "../../components/config";
import { renderGateway, GatewayRender } from "../../components/render/gateway";
import type { GatewayImages } from "../../components/render/gatewayLayout";

export const TEST_IMAGES: GatewayImages = {
    traefik: `traefik:v3.7.16@sha256:${"1".repeat(64)}`,
    haproxy: `haproxy:3.2.19@sha256:${"2".repeat(64)}`,
    nginx: `nginx:1.29.3@sha256:${"3".repeat(64)}`,
};

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface ParsedGateway {
    readonly render: GatewayRender;
    readonly traefikStatic?: any;
    readonly traefikDynamic: any;
    readonly compose: any;
    /** HAProxy frontends: name -> bound ports; backends: name -> server lines' words. */
    readonly haproxy: { frontends: Map<string, number[]>; servers: { backend: string; address: string; options: string[] }[] };
}

/** Frontend binds and server lines of a rendered haproxy.cfg (the subset homemail writes). */
export function parseHaproxy(text: string): ParsedGateway["haproxy"] {
    const frontends = new Map<string, number[]>();
    const servers: ParsedGateway["haproxy"]["servers"] = [];
    let section = "";
    let name = "";
    for (const raw of text.split("\n")) {
        const line = raw.replace(/#.*/, "").trim();
        if (!line) continue;
        const words = line.split(/\s+/);
        if (!/^\s/.test(raw)) {
            [section, name] = [words[0], words[1] ?? ""];
            if (section === "frontend") frontends.set(name, []);
            continue;
        }
        if (section === "frontend" && words[0] === "bind") frontends.get(name)!.push(Number(words[1].split(":").pop()));
        if (section === "backend" && words[0] === "server") servers.push({ backend: name, address: words[2], options: words.slice(3) });
    }
    return { frontends, servers };
}

export function parseGateway(model: Model, images: GatewayImages = TEST_IMAGES): ParsedGateway {
    const render = renderGateway(model, images);
    return {
        render,
        traefikStatic: render.traefikStatic ? parse(render.traefikStatic.content) : undefined,
        traefikDynamic: parse(render.traefikDynamic.content),
        compose: parse(render.compose.content),
        haproxy: parseHaproxy(render.haproxy.content),
    };
}

/** `host:port`, `:port` or `http://host:port` -> port. */
export function portOf(address: string): number {
    const hostPort = address.replace(/^[a-z0-9]+:\/\//, "").replace(/\/.*$/, "");
    return Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
}

/**
 * What the rendered Mailu files tell the lab's stand-in for Mailu (which cannot run here): its host
 * name, which ports its front publishes, and on which address, and which of them expect a PROXY v2
 * header.
 */
import { composeServices } from "./compose";
import { PublishedPort } from "./docker";
import { RenderedStack } from "./rendered";

export const MAILU_COMPOSE = "/opt/homemail/mailu/compose.yaml";
export const MAILU_ENV = "/opt/homemail/mailu/mailu.env";

/** mailu.env as Mailu reads it: KEY=value lines. */
export function mailuEnv(rendered: RenderedStack): Record<string, string> {
    const env: Record<string, string> = {};
    for (const line of rendered.text("home", MAILU_ENV).split("\n")) {
        const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
        if (m) env[m[1]] = m[2];
    }
    return env;
}

/** The ports Mailu's front publishes (compose `ports: "ADDR:HOST:CONTAINER"`). */
export function frontPublishedPorts(rendered: RenderedStack): PublishedPort[] {
    const front = composeServices(rendered.text("home", MAILU_COMPOSE)).front;
    if (!front?.ports?.length) throw new Error(`${MAILU_COMPOSE}: the front service publishes no port`);
    return front.ports.map((p) => {
        const m = /^(\d+\.\d+\.\d+\.\d+):(\d+):(\d+)$/.exec(p);
        if (!m) throw new Error(`${MAILU_COMPOSE}: front port ${p} is not ADDR:HOST:CONTAINER`);
        return { hostAddress: m[1], hostPort: Number(m[2]), containerPort: Number(m[3]) };
    });
}

/** Ports whose connections Mailu expects to start with a PROXY header (`PROXY_PROTOCOL`). */
export function proxyProtocolPorts(rendered: RenderedStack): number[] {
    const value = mailuEnv(rendered).PROXY_PROTOCOL;
    if (value === undefined) throw new Error(`${MAILU_ENV} has no PROXY_PROTOCOL`);
    return value.split(",").filter(Boolean).map(Number);
}

/** Mailu's own name in SMTP (banner, HELO, Received): the first of `HOSTNAMES`. */
export function mailuHostname(rendered: RenderedStack): string {
    const first = mailuEnv(rendered).HOSTNAMES?.split(",")[0];
    if (!first) throw new Error(`${MAILU_ENV} has no HOSTNAMES`);
    return first;
}

/**
 * The VPS's gateway containers, over SSH, read-only: each service of the RENDERED gateway compose
 * project (Traefik, HAProxy, the WKD nginx) running, and healthy where it has a healthcheck. One
 * check per service, so that what reaches the outside through one of them (a TLS port through
 * Traefik, port 25 through HAProxy) says "skipped: depends on" that service instead of failing a
 * second time when it is down.
 */
import { COMPOSE_PATH as GATEWAY_COMPOSE_PATH } from "../../../../components/render/gatewayLayout";
import { Check, fail } from "../check";
import type { DoctorContext } from "../context";
import type { RenderSet } from "../inputs";
import { sudoFor } from "../ssh";
import { ComposeProject, composePsOnce, containersFinding, renderedServices } from "./mailu";

type C = Check<DoctorContext>;

const GATEWAY_PROJECT: ComposeProject = { composePath: GATEWAY_COMPOSE_PATH, up: (sudo) => `on the VPS: \`${sudo}docker compose -f ${GATEWAY_COMPOSE_PATH} up -d\`` };

export const gatewayServiceCheckId = (service: string) => `inside.gateway:${service}`;

/** `after` for a check that goes through the gateway's `services`: those of them the render has. */
export function afterGatewayServices(render: RenderSet | undefined, services: readonly string[]): string[] {
    if (!render) return [];
    const rendered = renderedServices(render, `vps:${GATEWAY_COMPOSE_PATH}`).map((s) => s.name);
    return services.filter((s) => rendered.includes(s)).map(gatewayServiceCheckId);
}

export function gatewayChecks(ctx: Pick<DoctorContext, "model" | "render">): C[] {
    const vps = ctx.model.vps.ssh;
    const psOf = composePsOnce("vps", GATEWAY_COMPOSE_PATH);
    return renderedServices(ctx.render, `vps:${GATEWAY_COMPOSE_PATH}`).map(({ name }): C => ({
        id: gatewayServiceCheckId(name),
        area: "inside",
        title: `the VPS's ${name} container running (and healthy, where it has a healthcheck)`,
        needs: ["inside.ssh:vps"],
        run: async (c) => {
            const r = await psOf(c);
            if (!r.ps) return fail(r.error, `on the VPS: \`${sudoFor(vps)}docker compose version\` must work (Docker engine and the compose plugin); \`pulumi up\` installs the project`);
            return containersFinding([name], r.ps, vps, GATEWAY_PROJECT);
        },
    }));
}

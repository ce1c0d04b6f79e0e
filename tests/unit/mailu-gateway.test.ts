/**
 * Mailu and the gateway, rendered from the same model, read back and compared: what the gateway sends
 * to home must be exactly what Mailu listens for, expects and has certificates for.
 */
import { parse } from "yaml";
import { parseModel, Model } from "../../components/config";
import { mailuImages, renderMailuCompose, renderMailuEnv } from "../../components/render/mailu";
import { parseGateway } from "../helpers/gateway";
import { frontPorts, proxyProtocolPorts, readEnvFile } from "../helpers/mailu";
import { devModel, withConfig } from "../helpers/stack";

/* eslint-disable @typescript-eslint/no-explicit-any */
function sides(model: Model) {
    const env = readEnvFile(renderMailuEnv(model).content).values;
    const compose = parse(renderMailuCompose(model, Object.fromEntries(mailuImages(model).map((i) => [i.ref, `sha256:${"0".repeat(64)}`]))).content);
    const gw = parseGateway(model);
    const dyn = gw.traefikDynamic;
    // Every connection the gateway opens to home, and whether it starts with a PROXY v2 header.
    const targets: { address: string; proxyV2: boolean }[] = [];
    for (const svc of Object.values<any>(dyn.tcp?.services ?? {})) {
        const transport = svc.loadBalancer.serversTransport;
        const v2 = transport !== undefined && dyn.tcp.serversTransports?.[transport]?.proxyProtocol?.version === 2;
        for (const s of svc.loadBalancer.servers) targets.push({ address: s.address, proxyV2: v2 });
    }
    for (const svc of Object.values<any>(dyn.http?.services ?? {})) {
        for (const s of svc.loadBalancer?.servers ?? []) targets.push({ address: String(s.url).replace(/^http:\/\//, ""), proxyV2: false });
    }
    for (const s of gw.haproxy.servers) targets.push({ address: s.address, proxyV2: s.options.includes("send-proxy-v2") });
    const home = targets.filter((t) => t.address.startsWith(`${model.addresses.wgSpoke}:`));
    const routedHosts = new Set<string>();
    for (const r of [...Object.values<any>(dyn.http?.routers ?? {}), ...Object.values<any>(dyn.tcp?.routers ?? {})]) {
        if (!String(r.service).startsWith("mailu-")) continue;
        for (const m of String(r.rule).matchAll(/Host(?:SNI)?\(`([^`]+)`\)/g)) if (m[1] !== "*") routedHosts.add(m[1]);
    }
    return { env, published: compose.services.front.ports as string[], home, routedHosts };
}

describe.each([
    ["dev stack", devModel()],
    ["other WireGuard plan and extra hostnames", parseModel(withConfig([
        { key: "homemail:wireguard", value: { network: "10.9.0.0/24", hubAddress: "10.9.0.1", spokeAddress: "10.9.0.7" } },
        { key: "homemail:extraHostnames", value: ["webmail.example.com"] },
    ]))],
])("gateway -> Mailu (%s)", (_title, model) => {
    const { env, published, home, routedHosts } = sides(model);

    it("connects only to addresses Mailu's front publishes, and to every one of them", () => {
        expect(home.length).toBeGreaterThan(0);
        expect(new Set(home.map((t) => t.address))).toEqual(new Set(published.map((p) => p.split(":").slice(0, 2).join(":"))));
        expect(new Set(home.map((t) => Number(t.address.split(":")[1])))).toEqual(frontPorts(env.get("PORTS") ?? "").ports);
    });

    it("sends PROXY v2 exactly where Mailu expects it", () => {
        const sent = new Set(home.filter((t) => t.proxyV2).map((t) => Number(t.address.split(":")[1])));
        expect(sent).toEqual(proxyProtocolPorts(env.get("PROXY_PROTOCOL") ?? "").ports);
    });

    it("routes to Mailu only hostnames Mailu gets certificates for", () => {
        const hostnames = new Set((env.get("HOSTNAMES") ?? "").split(","));
        expect([...routedHosts].filter((h) => !hostnames.has(h))).toEqual([]);
        expect(routedHosts.has(model.mailHost)).toBe(true);
    });
});

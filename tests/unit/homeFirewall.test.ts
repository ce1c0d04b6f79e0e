/** The home firewall's settings agree with what Mailu's front publishes and who connects to it. */
import { parse } from "yaml";
import { HOME_FIREWALL_ENV_PATH, HOME_FIREWALL_SCRIPT_PATH, renderHomeFirewall } from "../../components/render/homeFirewall";
import { mailuImages, renderMailuCompose, renderMailuEnv } from "../../components/render/mailu";
import { readEnvFile, realIpFrom } from "../helpers/mailu";
import { devModel } from "../helpers/stack";

const model = devModel();
const files = renderHomeFirewall(model, "#!/usr/bin/env bash\n");
const env = readEnvFile(files.find((f) => f.path === HOME_FIREWALL_ENV_PATH)!.content).values;

describe("the home firewall's settings", () => {
    it("open exactly the ports Mailu's front publishes, on the address it publishes them", () => {
        const digests = Object.fromEntries(mailuImages(model).map((i) => [i.ref, `sha256:${"ab".repeat(32)}`]));
        const compose = parse(renderMailuCompose(model, digests).content) as { services: Record<string, { ports?: string[] }> };
        const published = Object.values(compose.services).flatMap((s) => s.ports ?? []).map((p) => p.split(":"));
        expect(new Set(published.map(([address]) => address))).toEqual(new Set([env.get("HOMEMAIL_HFW_SPOKE")]));
        expect(env.get("HOMEMAIL_HFW_TCP_PORTS")!.split(",").map(Number)).toEqual(published.map(([, port]) => Number(port)).sort((a, b) => a - b));
    });

    it("let connections be opened only by the address Mailu trusts for PROXY headers: the hub's tunnel address", () => {
        expect(env.get("HOMEMAIL_HFW_HUB")).toBe(model.addresses.wgHub);
        expect(realIpFrom(readEnvFile(renderMailuEnv(model).content).values.get("REAL_IP_FROM")!).items).toEqual([env.get("HOMEMAIL_HFW_HUB")]);
        expect(env.get("HOMEMAIL_HFW_INTERFACE")).toBe("wg0");
    });

    it("ship the script as is, executable, checked by bash before it replaces the live one", () => {
        const script = files.find((f) => f.path === HOME_FIREWALL_SCRIPT_PATH)!;
        expect(script).toMatchObject({ host: "home", mode: "0755", owner: "root:root", content: "#!/usr/bin/env bash\n", validate: "bash -n {}" });
        for (const f of files) expect(f.host).toBe("home");
    });
});

/**
 * Egress renderer: the env files carry exactly the keys each script requires (read from the scripts'
 * own `require_env` lines), with values from the model; the re-apply unit runs after Docker and
 * wg-quick@wg0; output is deterministic.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { EGRESS_ENV_PATH, renderEgress, renderEgressEnv, renderEgressUnit } from "../../components/render/egress";
import { parseModel } from "../../components/config";
import { devModel, devValue, REPO_ROOT, withConfig } from "../helpers/stack";

const asset = (p: string) => readFileSync(path.join(REPO_ROOT, "assets", p), "utf8");
const SCRIPTS = { home: asset("egress/home.sh"), vps: asset("egress/vps.sh"), lib: asset("egress/lib.sh") };

function envOf(text: string): Record<string, string> {
    return Object.fromEntries(
        text
            .split("\n")
            .filter((l) => l && !l.startsWith("#"))
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
}

/** Keys a script insists on (`require_env NAME ...`), plus the state dir every variant reads. */
function requiredKeys(script: string): string[] {
    return [...script.matchAll(/require_env (HOMEMAIL_[A-Z_]+)/g)].map((m) => m[1]);
}

describe("renderEgress", () => {
    const model = devModel();
    const a = model.addresses;

    it("gives each host exactly the keys its script requires, plus HOMEMAIL_STATE_DIR", () => {
        for (const host of ["home", "vps"] as const) {
            const env = envOf(renderEgressEnv(model, host));
            const wanted = [...requiredKeys(SCRIPTS[host]), ...requiredKeys(SCRIPTS.lib)];
            expect(Object.keys(env).sort()).toEqual([...new Set(wanted)].sort());
            expect(env.HOMEMAIL_STATE_DIR).toBe(model.egress.stateDir);
            expect(env.HOMEMAIL_MAILU_SUBNET).toBe(a.mailuSubnet);
        }
    });

    it("takes every value from the model", () => {
        const home = envOf(renderEgressEnv(model, "home"));
        expect(home).toMatchObject({
            HOMEMAIL_MAILU_BRIDGE: a.mailuBridge,
            HOMEMAIL_EGRESS_FWMARK: String(model.egress.fwmark),
            HOMEMAIL_EGRESS_TABLE: String(model.egress.routeTable),
            HOMEMAIL_EGRESS_RULE_PRIORITY: String(model.egress.rulePriority),
        });
        const vps = envOf(renderEgressEnv(model, "vps"));
        expect(vps).toMatchObject({ HOMEMAIL_PUBLIC_IP: a.vpsPublicIp, HOMEMAIL_WAN_INTERFACE: a.vpsWanInterface, HOMEMAIL_WG_MTU: String(a.wgMtu) });
        expect(vps.HOMEMAIL_ONE_TO_ONE_NAT).toBe("false");
        const nat = parseModel(withConfig([{ key: "homemail:vps", value: { ...devValue<Record<string, unknown>>("homemail:vps"), oneToOneNat: true } }]));
        expect(envOf(renderEgressEnv(nat, "vps")).HOMEMAIL_ONE_TO_ONE_NAT).toBe("true");
        const custom = envOf(renderEgressEnv({ ...model, egress: { ...model.egress, fwmark: 77, routeTable: 321 } }, "home"));
        expect(custom).toMatchObject({ HOMEMAIL_EGRESS_FWMARK: "77", HOMEMAIL_EGRESS_TABLE: "321" });
    });

    it("places the scripts unchanged, one env file and one unit per host, nothing when egress is off", () => {
        const files = renderEgress(model, SCRIPTS);
        for (const host of ["home", "vps"] as const) {
            const mine = files.filter((f) => f.host === host);
            expect(mine.find((f) => f.path === "/usr/local/sbin/homemail-smtp-egress")).toMatchObject({ mode: "0755", content: SCRIPTS[host] });
            expect(mine.find((f) => f.path === "/usr/local/lib/homemail/smtp-egress-lib.sh")?.content).toBe(SCRIPTS.lib);
            expect(mine.filter((f) => f.path === EGRESS_ENV_PATH)).toHaveLength(1);
            expect(mine.every((f) => !f.secret)).toBe(true);
        }
        // The scripts find the library where it is installed.
        expect(SCRIPTS.home).toContain("/usr/local/lib/homemail/smtp-egress-lib.sh");
        expect(renderEgress({ ...model, egress: { ...model.egress, enabled: false } }, SCRIPTS)).toEqual([]);
    });

    it("re-applies after docker.service and wg-quick@wg0, again on every Docker restart, and only when enabled", () => {
        const unit = renderEgressUnit();
        const key = (k: string) => unit.split("\n").filter((l) => l.startsWith(`${k}=`)).map((l) => l.slice(k.length + 1));
        expect(key("After")[0].split(" ")).toEqual(expect.arrayContaining(["docker.service", "wg-quick@wg0.service"]));
        expect(key("PartOf")).toEqual(["docker.service"]);
        expect(key("RemainAfterExit")).toEqual(["yes"]);
        expect(key("ExecStart")).toEqual(["/usr/local/sbin/homemail-smtp-egress reapply"]);
        expect(key("WantedBy")[0].split(" ")).toContain("docker.service");
    });

    it("is deterministic", () => {
        expect(renderEgress(model, SCRIPTS)).toEqual(renderEgress(devModel(), { lib: SCRIPTS.lib, vps: SCRIPTS.vps, home: SCRIPTS.home }));
    });
});

/**
 * WireguardLink under the mock engine, through the real index.ts with the dev stack: names, parents
 * (URN type chain), options of the egress steps, private keys never leaving the hosts, outputs.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { RecordedResource } from "../../scripts/lib/mockEngine";
import { isSecretValue } from "../../scripts/lib/mockEngine";
import { runDevProgram } from "../helpers/program";
import { REPO_ROOT, stackInput, withConfig, devValue } from "../helpers/stack";

const fixtures = path.join(REPO_ROOT, "tests/fixtures");
const FIXTURE_PUBLIC = JSON.parse(readFileSync(path.join(fixtures, "provider-outputs.json"), "utf8")).wireguardPublicKeys as { hub: string; spoke: string };
const FIXTURE_PRIVATE = ["hub", "spoke"].map((r) => readFileSync(path.join(fixtures, `wireguard/test-only-${r}.key`), "utf8").trim());
const COMPONENT = "homemail:net:WireguardLink";
/** Host-file children by role in the test, named `wg-<role>-file-<path slug>`. */
const FILES = {
    conf: "file-etc-wireguard-wg0.conf",
    env: "file-etc-homemail-smtp-egress.env",
    lib: "file-usr-local-lib-homemail-smtp-egress-lib.sh",
    script: "file-usr-local-sbin-homemail-smtp-egress",
    unit: "file-etc-systemd-system-homemail-smtp-egress.service",
};
const plain = (v: unknown): string => String(isSecretValue(v) ? v.value : (v ?? ""));

describe("WireguardLink (mocks, dev stack)", () => {
    let resources: RecordedResource[];
    let outputs: Record<string, unknown>;
    const byName = (name: string) => {
        const r = resources.find((x) => x.name === name);
        if (!r) throw new Error(`no resource ${name}; have ${resources.map((x) => x.name).join(", ")}`);
        return r;
    };

    beforeAll(async () => {
        ({ resources, outputs } = await runDevProgram(stackInput()));
    });

    it("registers one component named wg with children wg-<role>-<step>, all parented to it", () => {
        const link = resources.filter((r) => r.type === COMPONENT);
        expect(link.map((r) => r.name)).toEqual(["wg"]);
        const children = resources.filter((r) => r.parent === link[0].urn);
        const names = children.map((r) => r.name).sort();
        for (const role of ["hub", "spoke"]) {
            for (const step of ["ssh", "preflight", "key", "up", "egress", ...Object.values(FILES)]) {
                expect(names).toContain(`wg-${role}-${step}`);
            }
        }
        for (const c of children) {
            expect(c.name).toMatch(/^wg-(hub|spoke)-/);
            // The URN carries the parent's type chain: the child is the component's, not the stack's.
            expect(c.urn).toContain(`${COMPONENT}$command:remote:Command::${c.name}`);
        }
        // Nothing of the link hangs elsewhere.
        expect(resources.filter((r) => r.name.startsWith("wg-") && r.parent !== link[0].urn)).toEqual([]);
    });

    it("egress steps: enable/verify on create, disable on delete, replaced delete-before-replace on content change", () => {
        for (const role of ["hub", "spoke"]) {
            const step = byName(`wg-${role}-egress`);
            expect(step.options.deleteBeforeReplace).toBe(true);
            expect(plain(step.inputs.create)).toMatch(/homemail-smtp-egress enable && \/usr\/local\/sbin\/homemail-smtp-egress verify/);
            expect(plain(step.inputs.delete)).toMatch(/homemail-smtp-egress disable/);
            const triggers = step.inputs.triggers as unknown[];
            expect(triggers.length).toBeGreaterThanOrEqual(4);
            for (const t of triggers) expect(plain(t)).toMatch(/^[0-9a-f]{64}$/);
            // It runs after the tunnel is up and its files are installed.
            const deps = step.options.dependsOn;
            for (const dep of ["up", FILES.env, FILES.lib, FILES.script, FILES.unit]) expect(deps).toContain(byName(`wg-${role}-${dep}`).urn);
        }
    });

    it("keys are born on the hosts: the key step has no trigger, and no private key appears anywhere", () => {
        const ensureKey = readFileSync(path.join(REPO_ROOT, "assets/wireguard/ensure-key.sh"), "utf8");
        for (const role of ["hub", "spoke"]) {
            const key = byName(`wg-${role}-key`);
            expect(key.inputs.triggers).toBeUndefined();
            expect(plain(key.inputs.stdin)).toBe(ensureKey);
            expect(plain(key.inputs.create)).toMatch(/\nbash -s -- \/etc\/wireguard\/wg0\.key 0$/);
        }
        const everything = JSON.stringify(resources) + JSON.stringify(outputs);
        for (const secret of FIXTURE_PRIVATE) expect(everything).not.toContain(secret);
        expect(everything).not.toMatch(/PrivateKey\s*=/);
    });

    it("each wg0.conf names the peer's host-reported public key, and the outputs are those keys", () => {
        expect(plain(byName(`wg-spoke-${FILES.conf}`).inputs.stdin)).toContain(`PublicKey = ${FIXTURE_PUBLIC.hub}`);
        expect(plain(byName(`wg-hub-${FILES.conf}`).inputs.stdin)).toContain(`PublicKey = ${FIXTURE_PUBLIC.spoke}`);
        expect(outputs.wireguardPublicKeys).toEqual({ hub: FIXTURE_PUBLIC.hub, spoke: FIXTURE_PUBLIC.spoke });
        // The tunnel restarts exactly when the conf's bytes change.
        const up = byName("wg-spoke-up");
        expect((up.inputs.triggers as unknown[]).map(plain)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
        expect(up.options.dependsOn).toContain(byName(`wg-spoke-${FILES.conf}`).urn);
    });

    it("with egress disabled there is no egress step or file", async () => {
        const off = await runDevProgram(withConfig([{ key: "homemail:egress", value: { ...devValueOr("homemail:egress"), enabled: false } }]));
        expect(off.resources.filter((r) => /egress/.test(r.name))).toEqual([]);
        expect(off.resources.find((r) => r.name === `wg-hub-${FILES.conf}`)).toBeDefined();
    });
});

function devValueOr(key: string): Record<string, unknown> {
    try {
        return devValue(key);
    } catch {
        return {};
    }
}

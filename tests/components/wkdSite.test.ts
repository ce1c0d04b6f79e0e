/** WkdSite under the mock engine: in the real program (dev stack) and on its own. */
import type { ProgramRun, RecordedResource } from "../../scripts/lib/mockEngine";
import { plainValue } from "../../scripts/lib/mockEngine";
import { runDevProgram } from "../helpers/program";
import { devModel, stackInput } from "../helpers/stack";
import { sha256 } from "../../components/render/hostFile";
import { renderWkdSite, WKD_CONF } from "../../components/render/wkdSite";
import { wkdHash } from "../../components/render/wkdHash";

const COMMAND = "command:remote:Command";
const byName = (run: ProgramRun) => new Map(run.resources.map((r) => [r.name, r]));
const plain = plainValue;

describe("WkdSite in the program (dev stack)", () => {
    let run: ProgramRun;
    let site: RecordedResource;
    let children: RecordedResource[];
    beforeAll(async () => {
        run = await runDevProgram(stackInput());
        site = run.resources.find((r) => r.type === "homemail:gateway:WkdSite")!;
        children = run.resources.filter((r) => r.parent === site?.urn);
    });

    it("is one homemail:gateway:WkdSite whose children are named wkd-<role> and parented to it", () => {
        expect(site).toMatchObject({ name: "wkd", custom: false });
        expect(children.map((c) => c.name).sort()).toEqual(
            [
                "wkd-file-nginx.conf",
                "wkd-file-public-.well-known-mta-sts.txt",
                `wkd-file-public-.well-known-openpgpkey-example.com-hu-${wkdHash("user")}`,
                "wkd-file-public-.well-known-openpgpkey-example.com-policy",
                "wkd-prepare",
                "wkd-reload",
                "wkd-ssh",
            ].sort(),
        );
        for (const c of children) {
            expect(c.type).toBe(COMMAND);
            expect(c.urn).toContain("homemail:gateway:WkdSite$command:remote:Command::");
        }
        // Nothing of the site outside it.
        expect(run.resources.filter((r) => r.name.startsWith("wkd") && r.parent !== site.urn && r !== site)).toEqual([]);
    });

    it("checks the server block with the nginx the gateway pinned and runs, after the gateway's preflight and pull", () => {
        const r = byName(run);
        const conf = r.get("wkd-file-nginx.conf")!;
        const pinned = String((run.outputs.gatewayImages as Record<string, string>).nginx);
        expect(pinned).toMatch(/^nginx:[^@]+@sha256:[0-9a-f]{64}$/);
        const check = new RegExp(`docker run --rm --network none -v "\\$t":/etc/nginx/conf.d/wkd.conf:ro ${pinned.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} nginx -t -q`);
        expect(String(plain(conf.inputs.create))).toMatch(check);
        expect(String(plain(conf.inputs.create))).not.toMatch(/ nginx:[0-9.]+ nginx -t/);
        expect(conf.options.dependsOn).toEqual(expect.arrayContaining([r.get("gateway-preflight")!.urn, r.get("gateway-image-nginx")!.urn]));
    });

    it("orders the steps: SSH up -> prepare (dirs, prune) -> every file -> reload", () => {
        const r = byName(run);
        expect(r.get("wkd-prepare")!.options.dependsOn).toEqual([r.get("wkd-ssh")!.urn]);
        const files = children.filter((c) => c.name.startsWith("wkd-file-"));
        for (const f of files) expect(f.options.dependsOn).toEqual(f.name === "wkd-file-nginx.conf" ? expect.arrayContaining([r.get("wkd-prepare")!.urn]) : [r.get("wkd-prepare")!.urn]);
        expect([...r.get("wkd-reload")!.options.dependsOn].sort()).toEqual(files.map((f) => f.urn).sort());
        expect(plain(r.get("wkd-ssh")!.inputs.connection)).toMatchObject({ dialErrorLimit: -1 });
    });

    it("re-runs a step exactly when its content changes: content hashes in its command or triggers, file content on stdin", () => {
        const expected = renderWkdSite(devModel());
        const r = byName(run);
        // prepare runs in place: its hash rides in the command's first line, not in triggers.
        expect(r.get("wkd-prepare")!.inputs.triggers).toBeUndefined();
        expect(String(r.get("wkd-prepare")!.inputs.create).split("\n")[0]).toBe(`# homemail content sha256: ${sha256(expected.prepareScript)}`);
        const conf = expected.files.find((f) => f.path === WKD_CONF)!;
        expect(r.get("wkd-reload")!.inputs.triggers).toEqual([sha256(conf.content)]);
        expect(r.get("wkd-file-nginx.conf")!.inputs.stdin).toBe(conf.content);
        expect(r.get("wkd-file-nginx.conf")!.inputs.triggers).toBeUndefined();
    });

    it("sends no secret: the content (stdin) and the commands are public keys and configs only", () => {
        for (const c of children) {
            for (const field of ["create", "stdin", "triggers"]) expect(JSON.stringify(c.inputs[field] ?? null)).not.toContain('"secret":true');
        }
    });

    it("exports the published keys and the routing data as stack outputs", () => {
        expect(run.outputs.wkdKeys).toEqual([
            {
                address: "user@example.com",
                fingerprint: "ECAB3B3C77D5A886CBD05BDC1AA1C14D33144736",
                url: `https://openpgpkey.example.com/.well-known/openpgpkey/example.com/hu/${wkdHash("user")}?l=user`,
            },
        ]);
        expect(run.outputs.wkdRoutes).toEqual({ hosts: ["mta-sts.example.com", "openpgpkey.example.com"], backendUrl: "http://127.0.0.1:8088" });
    });
});

describe("WkdSite on its own", () => {
    async function runSite(withSshReady: boolean): Promise<ProgramRun> {
        let result: ProgramRun | undefined;
        await jest.isolateModulesAsync(async () => {
            const pulumi = await import("@pulumi/pulumi");
            const { runProgram } = await import("../../scripts/lib/mockEngine");
            result = await runProgram({
                pulumi,
                project: "homemail",
                stack: "test",
                config: {},
                secretKeys: [],
                load: async () => {
                    const command = await import("@pulumi/command");
                    const { WkdSite } = await import("../../components/WkdSite");
                    const model = devModel();
                    const ready = withSshReady ? new command.remote.Command("gateway-ssh-ready", { connection: { host: "vps" }, create: "true" }) : undefined;
                    const site = new WkdSite("site", { model, ssh: model.vps.ssh, sshReady: ready });
                    return { routes: site.routes, files: site.files };
                },
            });
        });
        return result!;
    }

    it("uses a given SSH wait step instead of its own, and exports its files", async () => {
        const run = await runSite(true);
        const r = byName(run);
        expect(r.has("site-ssh")).toBe(false);
        expect(r.get("site-prepare")!.options.dependsOn).toEqual([r.get("gateway-ssh-ready")!.urn]);
        expect(run.outputs.files).toContain(WKD_CONF);
    });

    it("refuses a model without mail domains before registering children", async () => {
        await expect(
            jest.isolateModulesAsync(async () => {
                const { WkdSite } = await import("../../components/WkdSite");
                const model = devModel();
                new WkdSite("bad", { model: { ...model, domains: [] }, ssh: model.vps.ssh });
            }),
        ).rejects.toThrow(/args\.model\.domains is empty/);
    });
});

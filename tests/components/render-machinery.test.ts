/**
 * The out/ tree machinery on a sample program: host files from remote commands, secrets redacted,
 * DNS records and zone files, resources and outputs.
 */
import { mkdtempSync, readFileSync, existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ProgramRun } from "../../scripts/lib/mockEngine";

async function runSample(): Promise<ProgramRun> {
    let run: ProgramRun | undefined;
    await jest.isolateModulesAsync(async () => {
        const pulumi = await import("@pulumi/pulumi");
        const { runProgram } = await import("../../scripts/lib/mockEngine");
        run = await runProgram({ pulumi, project: "homemail", stack: "sample", config: {}, secretKeys: [], load: () => import("../fixtures/programs/sample") as Promise<Record<string, unknown>> });
    });
    return run!;
}

describe("render machinery", () => {
    let run: ProgramRun;
    const zones = { "0123456789abcdef0123456789abcdef": "example.com" };
    beforeAll(async () => {
        run = await runSample();
    });

    async function write(includeSecrets: boolean): Promise<string> {
        const { writeOutTree } = await import("../../scripts/lib/writeOut");
        return writeOutTree(mkdtempSync(path.join(tmpdir(), "hm-out-")), "sample", run, zones, includeSecrets);
    }

    it("writes each host file under hosts/<host>/<absolute path> with files.json metadata", async () => {
        const root = await write(false);
        expect(readFileSync(path.join(root, "hosts/vps/etc/homemail/plain.conf"), "utf8")).toBe("plain = yes\n");
        const files = JSON.parse(readFileSync(path.join(root, "files.json"), "utf8"));
        expect(files).toEqual([
            expect.objectContaining({ host: "home", path: "/etc/homemail/secret.env", mode: "0600", secret: true }),
            expect.objectContaining({ host: "vps", path: "/etc/homemail/plain.conf", mode: "0644", owner: "root:root", secret: false }),
        ]);
        expect(files[1].sha256).toMatch(/^[0-9a-f]{64}$/);
    });

    it("shows secret files as [secret] by default and the fixture value only with includeSecrets", async () => {
        const root = await write(false);
        expect(readFileSync(path.join(root, "hosts/home/etc/homemail/secret.env"), "utf8")).toBe("[secret]\n");
        const withSecrets = await write(true);
        const content = readFileSync(path.join(withSecrets, "hosts/home/etc/homemail/secret.env"), "utf8");
        expect(content).toMatch(/^PASSWORD=fixture[0-9a-f]+\n$/);
        expect((statSync(path.join(withSecrets, "hosts/home/etc/homemail/secret.env")).mode & 0o777).toString(8)).toBe("600");
        // resources.json and outputs.json stay redacted even then.
        const value = content.slice("PASSWORD=".length).trim();
        expect(readFileSync(path.join(withSecrets, "resources.json"), "utf8")).not.toContain(value);
    });

    it("redacts secrets in resources.json and outputs.json and keeps parents and options", async () => {
        const root = await write(false);
        const resources = JSON.parse(readFileSync(path.join(root, "resources.json"), "utf8"));
        const secretFile = resources.find((r: { name: string }) => r.name === "sample-file-secret");
        expect(secretFile.inputs.stdin).toBe("[secret]");
        expect(secretFile.parent).toMatch(/homemail:test:Sample::sample$/);
        expect(secretFile.urn).toContain("homemail:test:Sample$command:remote:Command::sample-file-secret");
        expect(secretFile.inputs.create).not.toContain("PASSWORD");
        const outputs = JSON.parse(readFileSync(path.join(root, "outputs.json"), "utf8"));
        expect(outputs).toEqual({ plainOutput: "visible", secretOutput: "[secret]" });
    });

    it("writes records.json and a zone file per zone", async () => {
        const root = await write(false);
        const records = JSON.parse(readFileSync(path.join(root, "dns/records.json"), "utf8"));
        expect(records).toContainEqual({ zone: "example.com", name: "example.com", type: "MX", content: "mail.example.com", ttl: 1, proxied: false, priority: 10, data: null });
        expect(existsSync(path.join(root, "dns/example.com.zone"))).toBe(true);
        expect(readFileSync(path.join(root, "dns/example.com.zone"), "utf8")).toMatch(/long\.example\.com\. 300 IN TXT "x{255}" "x{45}"/);
    });
});

/**
 * Comparing two renders: a reviewer must see every host file, DNS record, resource and output that a
 * change adds, changes or removes, nothing that it does not touch, and never a secret value.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compareRenders, isEmptyDiff } from "../../scripts/lib/compareRenders";
import { formatMarkdown, formatText } from "../../scripts/lib/formatDiff";
import { HostFileSnapshot, readRenderTree, RenderTree, ResourceSnapshot } from "../../scripts/lib/renderTree";
import type { DnsRecordOut } from "../../scripts/lib/zoneFile";

const file = (p: string, content: string, extra: Partial<HostFileSnapshot> = {}): HostFileSnapshot => ({
    host: "vps",
    path: p,
    mode: "0644",
    owner: "root:root",
    secret: false,
    content,
    ...extra,
});
const txt = (name: string, content: string): DnsRecordOut => ({ zone: "example.com", name, type: "TXT", content, ttl: 1, proxied: false, priority: null, data: null });
const mx = (priority: number, content: string): DnsRecordOut => ({ zone: "example.com", name: "example.com", type: "MX", content, ttl: 1, proxied: false, priority, data: null });
const resource = (name: string, inputs: Record<string, unknown>, protect = false): ResourceSnapshot => ({
    urn: `urn:pulumi:dev::homemail::command:remote:Command::${name}`,
    type: "command:remote:Command",
    name,
    custom: true,
    parent: null,
    inputs,
    options: { protect, dependsOn: [] },
});
const tree = (t: Partial<RenderTree>): RenderTree => ({ files: [], records: [], resources: [], outputs: {}, ...t });
const header = { stack: "dev", base: "main (1234567)", head: "working tree" };

const traefik = "entryPoints:\n  web:\n    address: ':80'\n  smtps:\n    address: ':465'\nlog:\n  level: INFO\n";
const base = tree({
    files: [file("/opt/homemail/gateway/traefik/traefik.yml", traefik), file("/etc/wireguard/wg0.conf", "[Interface]\nListenPort = 51820\n")],
    records: [txt("_dmarc.example.com", "v=DMARC1; p=quarantine"), txt("example.com", "v=spf1 mx -all"), mx(10, "mail.example.com")],
    resources: [resource("gw-file-traefik", { stdin: traefik, create: "install" }), resource("gw-up", { create: "docker compose up -d" })],
    outputs: { addressPlan: { wgPort: 51820, wgHub: "10.0.1.1" }, mailHost: "mail.example.com" },
});

describe("compareRenders", () => {
    it("finds nothing between a render and itself, whatever order its entries come in", () => {
        const reordered = tree({
            files: [...base.files].reverse(),
            records: [...base.records].reverse(),
            resources: [...base.resources].reverse(),
            outputs: { mailHost: "mail.example.com", addressPlan: { wgHub: "10.0.1.1", wgPort: 51820 } },
        });
        const diff = compareRenders(base, reordered);
        expect(isEmptyDiff(diff)).toBe(true);
        expect(formatText(diff, header)).toMatch(/^No changes: stack dev renders the same/m);
    });

    it("reports a changed DMARC policy as one changed TXT record and nothing else in DNS", () => {
        const after = tree({ ...base, records: [txt("_dmarc.example.com", "v=DMARC1; p=reject"), ...base.records.slice(1)] });
        const diff = compareRenders(base, after);
        expect(diff.records).toEqual([
            expect.objectContaining({ kind: "changed", name: "_dmarc.example.com", type: "TXT", fields: [{ path: "content", before: "v=DMARC1; p=quarantine", after: "v=DMARC1; p=reject" }] }),
        ]);
        expect(diff.files).toEqual([]);
        expect(diff.resources).toEqual([]);
        expect(formatText(diff, header)).toContain('~ TXT _dmarc.example.com\n    content: "v=DMARC1; p=quarantine" -> "v=DMARC1; p=reject"');
    });

    it("tells a new record beside an unchanged one of the same name and type as added, not changed", () => {
        const after = tree({ ...base, records: [...base.records, txt("example.com", "google-site-verification=abc")] });
        const diff = compareRenders(base, after);
        expect(diff.records.map((r) => [r.kind, r.name, r.after?.content])).toEqual([["added", "example.com", "google-site-verification=abc"]]);
    });

    it("lists replaced MX records as removed and added when more than one changes", () => {
        const after = tree({ ...base, records: [...base.records.slice(0, 2), mx(10, "mx1.example.com"), mx(20, "mx2.example.com")] });
        const kinds = compareRenders(base, after).records.map((r) => `${r.kind} ${(r.after ?? r.before)!.content}`);
        expect(kinds).toEqual(["added mx1.example.com", "added mx2.example.com", "removed mail.example.com"]);
    });

    it("shows a changed host file as a unified diff of its content", () => {
        const changed = traefik.replace("INFO", "DEBUG");
        const after = tree({ ...base, files: [file("/opt/homemail/gateway/traefik/traefik.yml", changed), base.files[1]] });
        const [c] = compareRenders(base, after).files;
        expect(c).toMatchObject({ kind: "changed", host: "vps", path: "/opt/homemail/gateway/traefik/traefik.yml", metadata: [] });
        const patch = c.patch!.split("\n");
        expect(patch[0]).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/);
        expect(patch).toContain("-  level: INFO");
        expect(patch).toContain("+  level: DEBUG");
        // Three lines of context, not the whole file.
        expect(patch).not.toContain("  web:");
    });

    it("reports added files with their content, removed files by name, and a mode change without a content diff", () => {
        const after = tree({
            ...base,
            files: [
                file("/opt/homemail/gateway/traefik/traefik.yml", traefik, { mode: "0640" }),
                file("/opt/homemail/gateway/haproxy/haproxy.cfg", "global\n  maxconn 100\n"),
            ],
        });
        const diff = compareRenders(base, after);
        expect(diff.files.map((f) => [f.kind, f.path])).toEqual([
            ["added", "/opt/homemail/gateway/haproxy/haproxy.cfg"],
            ["changed", "/opt/homemail/gateway/traefik/traefik.yml"],
            ["removed", "/etc/wireguard/wg0.conf"],
        ]);
        expect(diff.files[0].patch).toBe("@@ -0,0 +1,2 @@\n+global\n+  maxconn 100");
        expect(diff.files[1]).toMatchObject({ metadata: [{ path: "mode", before: "0644", after: "0640" }], patch: undefined });
        expect(diff.files[2].patch).toBeUndefined();
    });

    it("never shows the content of a secret file, also when a plain file becomes secret", () => {
        const before = tree({ files: [file("/etc/homemail/token", "not-yet-a-secret\n"), file("/etc/wireguard/wg0.key", "[secret]\n", { secret: true, mode: "0600" })] });
        const after = tree({ files: [file("/etc/homemail/token", "[secret]\n", { secret: true, mode: "0600" }), file("/etc/wireguard/wg0.key", "[secret]\n", { secret: true, mode: "0400" })] });
        const diff = compareRenders(before, after);
        expect(diff.files.map((f) => [f.path, f.secret, f.patch])).toEqual([
            ["/etc/homemail/token", true, undefined],
            ["/etc/wireguard/wg0.key", true, undefined],
        ]);
        const text = formatText(diff, header);
        expect(text).toContain("content: [secret]");
        expect(text).not.toContain("not-yet-a-secret");
    });

    it("names the input and option paths that changed on a resource, and points file pushes at the host file diff", () => {
        const changed = traefik.replace("INFO", "DEBUG");
        const after = tree({
            files: [file("/opt/homemail/gateway/traefik/traefik.yml", changed), base.files[1]],
            resources: [resource("gw-file-traefik", { stdin: changed, create: "install" }), resource("gw-up", { create: "docker compose up -d" }, true)],
        });
        const diff = compareRenders(tree({ ...base, outputs: {} }), after);
        expect(diff.resources.map((r) => [r.urn.split("::").pop(), r.fields.map((f) => f.path)])).toEqual([
            ["gw-file-traefik", ["inputs.stdin"]],
            ["gw-up", ["options.protect"]],
        ]);
        expect(formatText(diff, header)).toContain(
            "    inputs.stdin: (content of vps:/opt/homemail/gateway/traefik/traefik.yml) -> (content of vps:/opt/homemail/gateway/traefik/traefik.yml)",
        );
    });

    it("lists every input of an added resource and only the URN of a removed one", () => {
        const after = tree({ ...base, resources: [base.resources[0], resource("gw-firewall", { create: "homemail-firewall enable", triggers: ["abc"] })] });
        const diff = compareRenders(base, after);
        expect(diff.resources.map((r) => [r.kind, r.urn.split("::").pop()])).toEqual([
            ["added", "gw-firewall"],
            ["removed", "gw-up"],
        ]);
        expect(diff.resources[0].fields).toContainEqual({ path: "inputs.triggers[0]", after: "abc" });
        expect(diff.resources[1].fields).toEqual([]);
    });

    it("reports stack outputs by name with the nested field that changed", () => {
        const after = tree({ ...base, outputs: { addressPlan: { wgPort: 51821, wgHub: "10.0.1.1" }, mailHost: "mail.example.com", registrarDs: "[secret]" } });
        const diff = compareRenders(base, after);
        expect(diff.outputs).toEqual([
            { kind: "added", name: "registrarDs", fields: [{ path: "registrarDs", after: "[secret]" }] },
            { kind: "changed", name: "addressPlan", fields: [{ path: "addressPlan.wgPort", before: 51820, after: 51821 }] },
        ]);
    });
});

describe("diff output", () => {
    const after = tree({ ...base, records: [txt("_dmarc.example.com", "v=DMARC1; p=reject"), ...base.records.slice(1)] });

    it("prints a summary line and the groups that changed, in the terminal", () => {
        const text = formatText(compareRenders(base, after), header);
        expect(text.split("\n").slice(0, 2)).toEqual([
            "homemail diff, stack dev: main (1234567) -> working tree",
            "host files: none; host steps: none; mailu import: none; dns records: 1 changed; resources: none; stack outputs: none",
        ]);
        expect(text).toContain("== DNS records ==");
        expect(text).not.toContain("== Host files ==");
    });

    it("fences Markdown with more backticks than the content holds, so a file cannot break the comment", () => {
        const withFence = tree({ ...base, files: [file("/opt/homemail/README.md", "```sh\nrm -rf /\n```\n")] });
        const md = formatMarkdown(compareRenders(base, withFence), header);
        expect(md).toContain("````diff\n");
        expect(md).toContain("\n````\n");
    });

    it("keeps a long comment under the limit and still closes its code block and details", () => {
        const big = tree({ ...base, files: [file("/opt/homemail/big.txt", Array.from({ length: 5000 }, (_, i) => `line ${i}`).join("\n") + "\n")] });
        const md = formatMarkdown(compareRenders(base, big), header, 8000);
        expect(md.length).toBeLessThanOrEqual(8000);
        expect(md).toContain("Cut at 8000 characters");
        expect(md.split("\n").filter((l) => /^`{3,}/.test(l)).length % 2).toBe(0);
        expect((md.match(/<details/g) ?? []).length).toBe((md.match(/<\/details>/g) ?? []).length);
    });
});

describe("readRenderTree", () => {
    function writeTree(secretContent: string): string {
        const dir = mkdtempSync(path.join(tmpdir(), "hm-tree-"));
        mkdirSync(path.join(dir, "hosts/home/etc"), { recursive: true });
        mkdirSync(path.join(dir, "dns"));
        writeFileSync(path.join(dir, "hosts/home/etc/secret.env"), secretContent);
        writeFileSync(path.join(dir, "files.json"), JSON.stringify([{ host: "home", path: "/etc/secret.env", mode: "0600", owner: "root:root", secret: true, sha256: "x" }]));
        writeFileSync(path.join(dir, "dns/records.json"), "[]");
        writeFileSync(path.join(dir, "resources.json"), "[]");
        writeFileSync(path.join(dir, "outputs.json"), "{}");
        return dir;
    }

    it("reads a redacted render", () => {
        expect(readRenderTree(writeTree("[secret]\n")).files).toEqual([file("/etc/secret.env", "[secret]\n", { host: "home", mode: "0600", secret: true })]);
    });

    it("refuses a render that carries secret values (--include-secrets), naming the file", () => {
        expect(() => readRenderTree(writeTree("PASSWORD=hunter2\n"))).toThrow(/home:\/etc\/secret\.env is a secret file rendered with its value/);
    });
});

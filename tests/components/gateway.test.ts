/**
 * VpsGateway under Pulumi mocks, through the real index.ts: resource names and parents, the secret
 * token's only path (stdin into a 0600 file), image pinning through the Docker provider, steps that
 * re-run exactly when their content changes, and sentinel secrets that never leak.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ConfigInput } from "../../components/config";
import { CF_TOKEN_PATH, COMPOSE_PATH, HAPROXY_CFG_PATH, TRAEFIK_STATIC_PATH } from "../../components/render/gatewayLayout";
import { parseFileHeader } from "../../components/render/hostFile";
import { isSecretValue } from "../../scripts/lib/mockEngine";
import type { ProgramRun, RecordedResource } from "../../scripts/lib/mockEngine";
import { runDevProgram } from "../helpers/program";
import { stackInput, withConfig } from "../helpers/stack";

const COMPONENT = "homemail:gateway:VpsGateway";
const COMMAND = "command:remote:Command";

const gatewayChildren = (run: ProgramRun) => run.resources.filter((r) => r.urn.includes(`${COMPONENT}$`));
const byName = (run: ProgramRun, name: string) => run.resources.find((r) => r.name === name);
const plainValue = (v: unknown): unknown => (v && typeof v === "object" && (v as { secret?: boolean }).secret === true ? (v as { value: unknown }).value : v);
const fileCommands = (run: ProgramRun) =>
    run.resources
        .filter((r) => r.type === COMMAND && parseFileHeader(String(plainValue(r.inputs.create) ?? "")))
        .map((r) => ({ r, header: parseFileHeader(String(plainValue(r.inputs.create)))! }));
const fileCommand = (run: ProgramRun, filePath: string) => fileCommands(run).find((f) => f.header.path === filePath)?.r;

/** Every string in a value, secrets included (to look for leaks in the non-secret parts, filter first). */
function strings(v: unknown, skipSecrets: boolean): string[] {
    if (typeof v === "string") return [v];
    if (Array.isArray(v)) return v.flatMap((x) => strings(x, skipSecrets));
    if (v && typeof v === "object") {
        if ((v as { secret?: boolean }).secret === true && "value" in v) return skipSecrets ? [] : strings((v as { value: unknown }).value, false);
        return Object.values(v).flatMap((x) => strings(x, skipSecrets));
    }
    return [];
}

/** Runs the gateway fixture program (VpsGateway alone, the token from the environment). */
async function runGatewayProgram(input: ConfigInput, token: string): Promise<ProgramRun> {
    process.env.HOMEMAIL_TEST_CF_TOKEN = token;
    try {
        return await runDevProgram(input, () => import("../fixtures/programs/gateway") as Promise<Record<string, unknown>>);
    } finally {
        delete process.env.HOMEMAIL_TEST_CF_TOKEN;
    }
}

/** Writes the out/ tree of a run and returns every file's text (path -> content). */
async function outTree(run: ProgramRun, includeSecrets = false): Promise<{ root: string; files: Map<string, string> }> {
    const { writeOutTree } = await import("../../scripts/lib/writeOut");
    const root = writeOutTree(mkdtempSync(path.join(tmpdir(), "hm-gw-out-")), "dev", run, { "0123456789abcdef0123456789abcdef": "example.com" }, includeSecrets);
    const files = new Map<string, string>();
    const walk = (dir: string) => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
            const p = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(p);
            else files.set(path.relative(root, p), readFileSync(p, "utf8"));
        }
    };
    walk(root);
    return { root, files };
}

describe("VpsGateway in the program", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runDevProgram(stackInput());
    });

    it("is one homemail:gateway:VpsGateway whose children are all named gateway-<role> and parented to it", () => {
        const components = run.resources.filter((r) => r.type === COMPONENT);
        expect(components.map((c) => c.name)).toEqual(["gateway"]);
        const children = gatewayChildren(run);
        expect(children.length).toBeGreaterThan(10);
        for (const c of children) {
            expect(c.name).toMatch(/^gateway-[a-z0-9._-]+$/);
            expect(c.parent).toBe(components[0].urn);
        }
        const roles = children.map((c) => c.name.replace(/^gateway-/, ""));
        expect(roles).toEqual(expect.arrayContaining(["ssh", "preflight", "docker", "image-traefik", "image-haproxy", "image-nginx", "firewall", "up", "traefik-restart", "haproxy-reload"]));
    });

    it("pulls each pinned tag through a Docker provider that reaches the VPS over ssh", () => {
        const provider = byName(run, "gateway-docker")!;
        expect(provider.type).toBe("pulumi:providers:docker");
        expect(plainValue(provider.inputs.host)).toBe("ssh://root@203.0.113.10:22");
        const images = gatewayChildren(run).filter((r) => r.type === "docker:index/remoteImage:RemoteImage");
        expect(images.map((i) => [i.name, i.inputs.name, i.inputs.keepLocally]).sort()).toEqual([
            ["gateway-image-haproxy", "haproxy:3.2.19", true],
            ["gateway-image-nginx", "nginx:1.29.3", true],
            ["gateway-image-traefik", "traefik:v3.7.16", true],
        ]);
        // The preflight (Docker present and recent) runs before any pull.
        const preflightUrn = byName(run, "gateway-preflight")!.urn;
        for (const i of images) expect(i.options.dependsOn).toContain(preflightUrn);
    });

    it("writes compose.yaml with the digests the pulls reported (the mock's all-zero fixture digest)", async () => {
        const compose = String(plainValue(fileCommand(run, COMPOSE_PATH)!.inputs.stdin));
        for (const ref of ["traefik:v3.7.16", "haproxy:3.2.19", "nginx:1.29.3"]) expect(compose).toContain(`image: ${ref}@sha256:${"0".repeat(64)}`);
        const outputs = run.outputs.gatewayImages as Record<string, string>;
        expect(Object.values(outputs).every((v) => /@sha256:0{64}$/.test(v))).toBe(true);
    });

    it("sends the ACME token only on stdin, as a secret, into a 0600 file", () => {
        const token = fileCommand(run, CF_TOKEN_PATH)!;
        expect(parseFileHeader(String(plainValue(token.inputs.create)))).toMatchObject({ mode: "0600", secret: true, owner: "root:root" });
        expect(token.inputs.stdin).toEqual({ secret: true, value: expect.any(String) });
        const value = String(plainValue(token.inputs.stdin));
        // Nothing else carries it, in any input, secret or not.
        for (const r of run.resources.filter((x) => x !== token)) expect(strings(r.inputs, false).some((s) => s.includes(value))).toBe(false);
        expect(strings(token.inputs, true).some((s) => s.includes(value))).toBe(false);
    });

    it("validates haproxy.cfg and compose.yaml on the VPS before they replace the live files", () => {
        expect(String(plainValue(fileCommand(run, HAPROXY_CFG_PATH)!.inputs.create))).toMatch(/haproxy -c .*failed validation/s);
        expect(String(plainValue(fileCommand(run, COMPOSE_PATH)!.inputs.create))).toMatch(/docker compose .* config -q .*failed validation/s);
    });

    it("starts the project after every file and the firewall, and stops it only when the gateway is deleted", () => {
        const up = byName(run, "gateway-up")!;
        const deps = new Set(up.options.dependsOn);
        for (const f of [COMPOSE_PATH, CF_TOKEN_PATH]) expect(deps.has(fileCommand(run, f)!.urn)).toBe(true);
        expect(deps.has(byName(run, "gateway-firewall")!.urn)).toBe(true);
        expect(String(up.inputs.create)).toMatch(/docker compose .* up -d/);
        expect(up.inputs.update).toEqual(up.inputs.create);
        expect(String(up.inputs.delete)).toMatch(/docker compose .* down$/);
        // Re-running is an in-place update: no triggers, so a change never runs the old `down` after the new `up`.
        expect(up.inputs.triggers).toBeUndefined();
        const fw = byName(run, "gateway-firewall")!;
        expect(String(fw.inputs.create)).toMatch(/homemail-gateway-firewall enable && .* verify/);
        expect(String(fw.inputs.delete)).toMatch(/homemail-gateway-firewall disable/);
    });

    it("renders the same commands, content and triggers on a second run (a second `pulumi up` runs nothing)", async () => {
        const again = await runDevProgram(stackInput());
        const snapshot = (r: ProgramRun) =>
            gatewayChildren(r).map((c) => JSON.stringify([c.name, c.inputs.create, c.inputs.update, c.inputs.delete, c.inputs.triggers, c.inputs.stdin, c.options.dependsOn]));
        expect(snapshot(again)).toEqual(snapshot(run));
    });

    it("re-runs only the steps whose content changed", async () => {
        // A new extra hostname changes the dynamic file (SNI and ACME routes) and nothing else.
        const changed = await runDevProgram(withConfig([{ key: "homemail:extraHostnames", value: ["webmail.example.com"] }]));
        const differs = (name: string, field: "create" | "triggers" | "stdin") =>
            JSON.stringify(byName(run, name)?.inputs[field]) !== JSON.stringify(byName(changed, name)?.inputs[field]);
        const dynamic = fileCommands(run).find((f) => f.header.path.endsWith("/dynamic/homemail.yml"))!.r.name;
        expect(differs(dynamic, "stdin")).toBe(true);
        expect(differs("gateway-up", "create")).toBe(false);
        expect(differs("gateway-traefik-restart", "triggers")).toBe(false);
        expect(differs("gateway-haproxy-reload", "triggers")).toBe(false);
        expect(differs(fileCommand(run, TRAEFIK_STATIC_PATH)!.name, "stdin")).toBe(false);
    });
});

describe("a new Cloudflare token", () => {
    it("restarts Traefik (it reads the token file once per process), and nothing else re-runs but the file", async () => {
        const a = await runGatewayProgram(stackInput(), "test-only-token-one");
        const b = await runGatewayProgram(stackInput(), "test-only-token-two");
        const field = (run: ProgramRun, name: string, f: "triggers" | "create" | "stdin") => JSON.stringify(byName(run, name)?.inputs[f]);
        const restart = "gateway-traefik-restart";
        expect(field(a, restart, "triggers")).not.toEqual(field(b, restart, "triggers"));
        // Re-run by the hash of the file as sent, kept secret (the token never shows in a trigger).
        const triggers = byName(a, restart)!.inputs.triggers;
        expect(isSecretValue(triggers) || (Array.isArray(triggers) && triggers.some(isSecretValue))).toBe(true);
        expect(JSON.stringify(triggers)).not.toContain("test-only-token-one");
        expect(field(a, "gateway-haproxy-reload", "triggers")).toEqual(field(b, "gateway-haproxy-reload", "triggers"));
        expect(field(a, "gateway-up", "create")).toEqual(field(b, "gateway-up", "create"));
    });
});

describe("VpsGateway options", () => {
    it("with an existing Traefik: no Traefik image or static file, the dynamic file in its directory, requirements reported", async () => {
        const run = await runDevProgram(withConfig([{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "/opt/traefik/dynamic" } }]));
        expect(byName(run, "gateway-image-traefik")).toBeUndefined();
        expect(byName(run, "gateway-traefik-restart")).toBeUndefined();
        expect(fileCommand(run, TRAEFIK_STATIC_PATH)).toBeUndefined();
        expect(fileCommand(run, "/opt/traefik/dynamic/homemail.yml")).toBeDefined();
        expect(byName(run, "gateway-image-haproxy")).toBeDefined();
        expect(run.outputs.gatewayExistingTraefik).toMatchObject({
            dynamicFile: "/opt/traefik/dynamic/homemail.yml",
            certificateResolver: "cf-dns",
            entrypoints: expect.arrayContaining([{ name: "web-secure", address: "0.0.0.0:443", port: 443 }]),
        });
    });

    it("without the firewall: no firewall script, env, unit or step", async () => {
        const run = await runDevProgram(withConfig([{ key: "homemail:gateway", value: { firewall: false } }]));
        expect(byName(run, "gateway-firewall")).toBeUndefined();
        expect(fileCommands(run).filter((f) => f.header.host === "vps" && f.header.path.includes("firewall"))).toEqual([]);
        expect(String(byName(run, "gateway-preflight")!.inputs.create)).not.toContain("--firewall");
    });

    // That every remote command runs through sudo is checked for all of them in host-steps.test.ts.
    it("reaches the VPS's Docker as the non-root SSH user", async () => {
        const run = await runDevProgram(withConfig([{ key: "homemail:vps", value: { publicIp: "203.0.113.10", sshUser: "deploy" } }]));
        expect(plainValue(byName(run, "gateway-docker")!.inputs.host)).toBe("ssh://deploy@203.0.113.10:22");
    });
});

describe("sentinel secrets never appear in clear", () => {
    const SSH_SENTINEL = "-----BEGIN OPENSSH PRIVATE KEY-----\nSENTINEL-ssh-key-5d1e0c77\n-----END OPENSSH PRIVATE KEY-----";
    const TOKEN_SENTINEL = "SENTINEL-cf-dns-token-9b2f41aa";
    let run: ProgramRun;
    let tree: { root: string; files: Map<string, string> };

    beforeAll(async () => {
        run = await runGatewayProgram(withConfig([{ key: "homemail:vpsSshPrivateKey", value: SSH_SENTINEL, secret: true }]), TOKEN_SENTINEL);
        tree = await outTree(run);
    });
    afterAll(() => rmSync(tree.root, { recursive: true, force: true }));

    it("keeps both values out of every file of the out/ tree (resources.json, outputs.json, host files)", () => {
        expect(tree.files.size).toBeGreaterThan(5);
        for (const [file, text] of tree.files) {
            for (const s of [TOKEN_SENTINEL, "SENTINEL-ssh-key"]) expect(`${file}: ${text.includes(s)}`).toBe(`${file}: false`);
        }
    });

    it("keeps both values out of every command string and every non-secret input", () => {
        for (const r of run.resources as RecordedResource[]) {
            const visible = strings(r.inputs, true).join("\n");
            expect(visible).not.toContain(TOKEN_SENTINEL);
            expect(visible).not.toContain("SENTINEL-ssh-key");
        }
    });

    it("delivers the token, and only the token, to the 0600 file (the lab-only render shows it there)", async () => {
        const withSecrets = await outTree(run, true);
        try {
            const rel = path.join("hosts", "vps", CF_TOKEN_PATH);
            expect(withSecrets.files.get(rel)).toBe(TOKEN_SENTINEL);
            expect((statSync(path.join(withSecrets.root, rel)).mode & 0o777).toString(8)).toBe("600");
            for (const [file, text] of withSecrets.files) if (file !== rel) expect(text).not.toContain(TOKEN_SENTINEL);
        } finally {
            rmSync(withSecrets.root, { recursive: true, force: true });
        }
    });

    it("uses the SSH key only as the connection's secret private key", () => {
        const carriers = run.resources.filter((r) => strings(r.inputs, false).some((s) => s.includes("SENTINEL-ssh-key")));
        expect(carriers.length).toBeGreaterThan(0);
        for (const r of carriers) {
            expect(r.type).toBe(COMMAND);
            // The whole connection is a secret once it holds the key.
            expect(r.inputs.connection).toMatchObject({ secret: true, value: expect.objectContaining({ privateKey: SSH_SENTINEL }) });
            expect(strings(r.inputs, true).join("\n")).not.toContain("SENTINEL-ssh-key");
        }
    });
});

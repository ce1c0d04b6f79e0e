/**
 * HomeMailServer in the real program under the mock engine: the resource graph a `pulumi up` would
 * run on the home server, where secrets travel, what the config-import receives, and what re-runs.
 */
import { mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ConfigInput } from "../../components/config";
import { isSecretValue, plainValue, ProgramRun, RecordedResource } from "../../scripts/lib/mockEngine";
import { writeOutTree } from "../../scripts/lib/writeOut";
import { runDevProgram } from "../helpers/program";
import { REPO_ROOT, stackInput, withConfig } from "../helpers/stack";
import { readEnvFile, readMailuImport } from "../helpers/mailu";

const COMPONENT = "homemail:mail:HomeMailServer";
const plain = plainValue;
const byName = (run: ProgramRun, name: string): RecordedResource => {
    const r = run.resources.find((x) => x.name === name);
    if (!r) throw new Error(`no resource ${name}; have ${run.resources.map((x) => x.name).join(", ")}`);
    return r;
};
const importYaml = (run: ProgramRun) => String(plain(byName(run, "mailu-import").inputs.stdin));
const ZONE_IDS = { "example.com": "0123456789abcdef0123456789abcdef", "example.org": "1123456789abcdef0123456789abcdef", "example.net": "2123456789abcdef0123456789abcdef" };

/** Everything reachable from a resource through dependsOn. */
function dependenciesOf(run: ProgramRun, name: string): Set<string> {
    const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
    const seen = new Set<string>();
    const walk = (r: RecordedResource) => {
        for (const urn of r.options.dependsOn) {
            const dep = byUrn.get(urn);
            if (dep && !seen.has(dep.name)) {
                seen.add(dep.name);
                walk(dep);
            }
        }
    };
    walk(byName(run, name));
    return seen;
}

function treeText(dir: string): string {
    const parts: string[] = [];
    const walk = (d: string) => {
        for (const e of readdirSync(d)) {
            const p = path.join(d, e);
            if (statSync(p).isDirectory()) walk(p);
            else parts.push(readFileSync(p, "latin1"));
        }
    };
    walk(dir);
    return parts.join("\n");
}

/** Every string among a resource's inputs that is not marked secret. */
function clearStrings(v: unknown, out: string[] = []): string[] {
    if (isSecretValue(v)) return out;
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach((x) => clearStrings(x, out));
    else if (v && typeof v === "object") Object.values(v).forEach((x) => clearStrings(x, out));
    return out;
}

describe("HomeMailServer in the program (dev stack)", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runDevProgram(stackInput());
    });

    it("is one component whose children are all named mailu-<role> and parented to it", () => {
        const component = run.resources.filter((r) => r.type === COMPONENT);
        expect(component.map((r) => r.name)).toEqual(["mailu"]);
        const children = run.resources.filter((r) => r.urn.includes(`${COMPONENT}$`));
        expect(children.length).toBeGreaterThan(10);
        for (const c of children) {
            expect(c.name).toMatch(/^mailu-/);
            expect(c.parent).toBe(component[0].urn);
        }
    });

    it("runs the steps in order: script, preflight, images and files, compose, up, import, reconcile", () => {
        const script = "mailu-file-usr-local-sbin-homemail-mailu";
        expect(dependenciesOf(run, "mailu-preflight")).toContain(script);
        expect(dependenciesOf(run, "mailu-image-front")).toContain("mailu-preflight");
        const compose = dependenciesOf(run, "mailu-file-opt-homemail-mailu-compose.yaml");
        expect([...compose]).toEqual(expect.arrayContaining(["mailu-file-opt-homemail-mailu-mailu.env", "mailu-file-opt-homemail-mailu-secrets-mailu-secrets.env"]));
        expect([...dependenciesOf(run, "mailu-up")]).toEqual(expect.arrayContaining(["mailu-file-opt-homemail-mailu-compose.yaml", "mailu-nonlocal-bind", "mailu-image-front", "mailu-image-admin"]));
        expect(dependenciesOf(run, "mailu-import")).toContain("mailu-up");
        expect([...dependenciesOf(run, "mailu-reconcile")]).toEqual(expect.arrayContaining(["mailu-import", "mailu-file-opt-homemail-mailu-accounts.list"]));
    });

    it("filters the tunnel before Mailu starts: the home firewall is enabled (and disabled on delete) after its files, updated in place", () => {
        const fw = byName(run, "mailu-firewall");
        expect([...dependenciesOf(run, "mailu-firewall")]).toEqual(
            expect.arrayContaining(["mailu-file-usr-local-sbin-homemail-home-firewall", "mailu-file-etc-homemail-home-firewall.env", "mailu-file-etc-systemd-system-homemail-home-firewall.service"]),
        );
        expect(dependenciesOf(run, "mailu-up")).toContain("mailu-firewall");
        expect(String(plain(fw.inputs.create))).toMatch(/^# homemail content sha256: [0-9a-f]{64} [0-9a-f]{64} [0-9a-f]{64}\n\/usr\/local\/sbin\/homemail-home-firewall enable && \/usr\/local\/sbin\/homemail-home-firewall verify && /);
        expect(String(plain(fw.inputs.delete))).toMatch(/^\/usr\/local\/sbin\/homemail-home-firewall disable/);
        expect(fw.inputs.triggers).toBeUndefined();
    });

    it("starts Mailu only after the tunnel, the gateway (port 80 to home) and every DNS record are up", () => {
        // The front's first certificate comes by http-01 through the VPS: DNS, gateway and tunnel first.
        const deps = dependenciesOf(run, "mailu-up");
        const needed = run.resources
            .filter((r) => /^(wg-(hub|spoke)-up|gateway-up|gateway-firewall|wkd-reload)$/.test(r.name) || r.type === "cloudflare:index/dnsRecord:DnsRecord")
            .map((r) => r.name);
        expect(needed).toEqual(expect.arrayContaining(["wg-hub-up", "wg-spoke-up", "gateway-up", "dns-example.com-mail-host-mail.example.com"]));
        expect(needed.filter((n) => !deps.has(n))).toEqual([]);
    });

    it("pins every service to the digest its RemoteImage recorded", () => {
        const images = run.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage" && r.urn.includes(`${COMPONENT}$`));
        const compose = String(plain(byName(run, "mailu-file-opt-homemail-mailu-compose.yaml").inputs.stdin));
        for (const img of images) {
            expect(compose).toContain(`"${String(plain(img.inputs.name))}@sha256:${"0".repeat(64)}"`);
        }
        expect(images.map((i) => i.name).sort()).toEqual(["admin", "antispam", "front", "imap", "redis", "resolver", "smtp", "webmail"].map((s) => `mailu-image-${s}`).sort());
        const mailuImages = run.outputs.mailuImages as Record<string, string>;
        expect(Object.keys(mailuImages).sort()).toEqual(images.map((i) => i.name.replace("mailu-image-", "")).sort());
    });

    it("runs fixed commands; file content and the import YAML go only through stdin, as secrets where secret", () => {
        const commands = run.resources.filter((r) => r.urn.includes(`${COMPONENT}$command:remote:Command`));
        for (const c of commands) expect(typeof plain(c.inputs.create)).toBe("string");
        expect(plain(byName(run, "mailu-import").inputs.create)).toMatch(/^# import YAML without secrets: sha256 [0-9a-f]{64}\n\/usr\/local\/sbin\/homemail-mailu import$/);
        expect(isSecretValue(byName(run, "mailu-import").inputs.stdin)).toBe(true);
        expect(isSecretValue(byName(run, "mailu-file-opt-homemail-mailu-secrets-mailu-secrets.env").inputs.stdin)).toBe(true);
        expect(plain(byName(run, "mailu-reconcile").inputs.create)).toBe("/usr/local/sbin/homemail-mailu reconcile");
    });

    it("gives the secret env file a SECRET_KEY of its own and mailu.env none", () => {
        const secretEnv = readEnvFile(String(plain(byName(run, "mailu-file-opt-homemail-mailu-secrets-mailu-secrets.env").inputs.stdin))).values;
        expect(secretEnv.get("SECRET_KEY")).toMatch(/^[A-Za-z0-9]{32}$/);
        expect(readEnvFile(String(plain(byName(run, "mailu-file-opt-homemail-mailu-mailu.env").inputs.stdin))).values.has("SECRET_KEY")).toBe(false);
    });

    it("exports every mailbox's password as a secret, and the admin and webmail URLs", () => {
        const pw = run.outputs.mailUserPasswords;
        expect(isSecretValue(pw)).toBe(true);
        expect(Object.keys(plain(pw) as Record<string, string>).sort()).toEqual(["admin@example.com", "user@example.com"]);
        expect(run.outputs.mailAdminUrl).toBe("https://mail.example.com/admin");
        expect(run.outputs.webmailUrl).toBe("https://mail.example.com/webmail");
    });
});

describe("users, aliases and domains as code", () => {
    // Two domains, one alternative domain, three users, the standard aliases.
    const input: ConfigInput = withConfig([
        { key: "homemail:cloudflareZones", value: ZONE_IDS },
        { key: "homemail:extraDomains", value: ["example.org"] },
        { key: "homemail:alternativeDomains", value: { "example.com": ["example.net"] } },
        { key: "homemail:users", value: [{ address: "user@example.com", displayName: "Example User" }, { address: "bob@example.org", quotaBytes: 2000000000 }, { address: "admin@example.com" }] },
        { key: "homemail:userPasswords", value: { "bob@example.org": "bob's \"quoted\" pass: #1" }, secret: true },
    ]);
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runDevProgram(input);
    });

    it("imports exactly the configured users, with one global admin and each password as set or generated", () => {
        const read = readMailuImport(importYaml(run));
        expect(read.problems).toEqual([]);
        expect(read.users.map((u) => u.email).sort()).toEqual(["admin@example.com", "bob@example.org", "user@example.com"]);
        expect(read.users.filter((u) => u.globalAdmin).map((u) => u.email)).toEqual(["admin@example.com"]);
        const passwords = plain(run.outputs.mailUserPasswords) as Record<string, string>;
        for (const u of read.users) {
            expect(u.hashPassword).toBe(true);
            expect(u.password).toBe(passwords[u.email]);
        }
        expect(passwords["bob@example.org"]).toBe('bob\'s "quoted" pass: #1');
        expect(new Set(Object.values(passwords)).size).toBe(3);
        expect(read.users.find((u) => u.email === "bob@example.org")?.quotaBytes).toBe(2000000000);
    });

    it("imports exactly the standard aliases of both main domains, to the admin", () => {
        const read = readMailuImport(importYaml(run));
        const roles = ["abuse", "hostmaster", "noc", "postmaster", "security", "webmaster"]; // RFC 2142 + postmaster
        const expected = ["example.com", "example.org"].flatMap((d) => roles.map((r) => [`${r}@${d}`, ["admin@example.com"]]));
        expect(read.aliases.map((a) => [a.email, a.destination]).sort()).toEqual(expected.sort());
    });

    it("imports both main domains with their DKIM keys and the alternative under its parent", () => {
        const read = readMailuImport(importYaml(run));
        expect(read.domains.map((d) => [d.name, d.alternatives])).toEqual([
            ["example.com", ["example.net"]],
            ["example.org", []],
        ]);
        const pem = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.key"), "utf8");
        for (const d of read.domains) expect(d.dkimKey).toBe(pem);
    });
});

describe("addresses with any local-part character the config allows (issue 13 hole 4)", () => {
    it("run the whole program: o'brien@ and first+tag@ get their passwords, set or generated", async () => {
        const input = withConfig([
            { key: "homemail:users", value: [{ address: "o'brien@example.com" }, { address: "first+tag@example.com" }, { address: "a{b}=c@example.com" }] },
            { key: "homemail:userPasswords", value: { "o'brien@example.com": "obrien-pw" }, secret: true },
        ]);
        const run = await runDevProgram(input);
        const read = readMailuImport(importYaml(run));
        expect(read.problems).toEqual([]);
        const passwords = plain(run.outputs.mailUserPasswords) as Record<string, string>;
        expect(passwords["o'brien@example.com"]).toBe("obrien-pw");
        for (const a of ["o'brien@example.com", "first+tag@example.com", "a{b}=c@example.com"]) expect(read.users.find((u) => u.email === a)?.password).toBe(passwords[a]);
    });
});

describe("secrets stay secret (sentinel values)", () => {
    const SENTINELS = { "user@example.com": "SENTINEL-user-pw-7Qx", "admin@example.com": "SENTINEL-admin-pw-3Kz" };
    let run: ProgramRun;
    let secrets: string[];
    beforeAll(async () => {
        run = await runDevProgram(withConfig([{ key: "homemail:userPasswords", value: SENTINELS, secret: true }]));
        const secretKey = readEnvFile(String(plain(byName(run, "mailu-file-opt-homemail-mailu-secrets-mailu-secrets.env").inputs.stdin))).values.get("SECRET_KEY") ?? "";
        const pem = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.key"), "utf8");
        // The key's body lines: any one of them in clear would be a leak. Lines that only carry the
        // modulus also sit in the public key DNS publishes (same base64 alignment), so they are public.
        const publicBase64 = readFileSync(path.join(REPO_ROOT, "tests/fixtures/dkim/test-only-dkim.pub"), "utf8").replace(/-----[^-]+-----|\s/g, "");
        const keyLines = pem.split("\n").filter((l) => l.length > 40 && !l.startsWith("-----") && !publicBase64.includes(l));
        secrets = [...Object.values(SENTINELS), secretKey, ...keyLines];
        expect(secretKey.length).toBeGreaterThanOrEqual(32);
        expect(keyLines.length).toBeGreaterThan(10);
    });

    it("reach Mailu: the import's stdin carries the passwords and the DKIM key", () => {
        const yaml = importYaml(run);
        for (const s of Object.values(SENTINELS)) expect(yaml).toContain(s);
        expect(readMailuImport(yaml).domains[0].dkimKey).toContain(secrets[secrets.length - 1]);
    });

    it("never appear in the default render (host files, resources.json, outputs.json)", () => {
        const zones = { [ZONE_IDS["example.com"]]: "example.com" };
        const root = writeOutTree(mkdtempSync(path.join(tmpdir(), "hm-mailu-out-")), "dev", run, zones, false);
        const text = treeText(root);
        expect(text).toContain("SECRET_KEY"); // the files are there...
        for (const s of secrets) expect(text.includes(s) ? s : "absent").toBe("absent"); // ...their secrets are not
    });

    it("never appear in a command string or in any input not marked secret", () => {
        for (const r of run.resources) {
            for (const field of ["create", "update", "delete"]) {
                const cmd = r.inputs[field];
                if (cmd !== undefined) expect(isSecretValue(cmd)).toBe(false);
            }
            const clear = clearStrings(r.inputs).join("\n");
            for (const s of secrets) expect({ resource: r.name, leaked: clear.includes(s) }).toEqual({ resource: r.name, leaked: false });
        }
    });
});

describe("what re-runs", () => {
    // What re-runs a step: its triggers (replace, undo-first) or its command and stdin (in-place).
    const triggersOf = (run: ProgramRun, name: string) => {
        const i = byName(run, name).inputs;
        return JSON.stringify([i.triggers, plainValue(i.create), plainValue(i.stdin)]);
    };

    it("re-imports only when the import YAML changes; a compose-only change restarts without re-importing", async () => {
        const a = await runDevProgram(stackInput());
        const b = await runDevProgram(stackInput());
        expect(triggersOf(b, "mailu-import")).toBe(triggersOf(a, "mailu-import"));
        expect(triggersOf(b, "mailu-up")).toBe(triggersOf(a, "mailu-up"));

        const antivirus = await runDevProgram(withConfig([{ key: "homemail:mailu", value: { antivirus: true } }]));
        expect(triggersOf(antivirus, "mailu-import")).toBe(triggersOf(a, "mailu-import"));
        expect(triggersOf(antivirus, "mailu-up")).not.toBe(triggersOf(a, "mailu-up"));

        const newPassword = await runDevProgram(withConfig([{ key: "homemail:userPasswords", value: { "user@example.com": "a-new-password-for-user" }, secret: true }]));
        expect(triggersOf(newPassword, "mailu-import")).not.toBe(triggersOf(a, "mailu-import"));
        expect(triggersOf(newPassword, "mailu-up")).toBe(triggersOf(a, "mailu-up"));
    });

    it("shows a domain/user/alias change in the import's command (plain), so a redacted preview sees it", async () => {
        const a = await runDevProgram(stackInput());
        const alias = await runDevProgram(withConfig([{ key: "homemail:aliases", value: [{ address: "info@example.com", destinations: ["user@example.com"] }] }]));
        const plainTrigger = (run: ProgramRun) => {
            const create = byName(run, "mailu-import").inputs.create;
            expect(isSecretValue(create)).toBe(false);
            return create;
        };
        expect(plainTrigger(alias)).not.toEqual(plainTrigger(a));
        // A new password alone leaves the plain trigger alone (the secret one carries it).
        const newPassword = await runDevProgram(withConfig([{ key: "homemail:userPasswords", value: { "user@example.com": "another-new-password" }, secret: true }]));
        expect(plainTrigger(newPassword)).toEqual(plainTrigger(a));
    });

    it("reconciles again when pruning is switched on, and passes --prune", async () => {
        const prune = await runDevProgram(withConfig([{ key: "homemail:mailu", value: { pruneRemoved: true } }]));
        expect(plain(byName(prune, "mailu-reconcile").inputs.create)).toBe("/usr/local/sbin/homemail-mailu reconcile --prune");
        const base = await runDevProgram(stackInput());
        expect(triggersOf(prune, "mailu-reconcile")).not.toBe(triggersOf(base, "mailu-reconcile"));
    });
});

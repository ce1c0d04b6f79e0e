/**
 * The home server's Mailu script (assets/mailu/homemail-mailu.sh), run for real with bash against a
 * test-only docker CLI (tests/fixtures/mailu/fake-docker) that records calls and hands Mailu's CLI to
 * an admin stand-in applying Mailu 2024.06's merge rules (tests/helpers/mailuAdmin.ts): preflight
 * messages, dry run before update, secrets kept out of output, removals reaching Mailu, and the
 * merge/prune rules for accounts.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { parseModel } from "../../components/config";
import { fillImportSecrets, renderMailuImport } from "../../components/render/mailu";
import { emptyMailu, MailuDb } from "../helpers/mailuAdmin";
import { REPO_ROOT, withConfig } from "../helpers/stack";
import { systemPathWithout } from "../helpers/pathWithout";

const SCRIPT = path.join(REPO_ROOT, "assets/mailu/homemail-mailu.sh");
const FAKE_DOCKER = path.join(REPO_ROOT, "tests/fixtures/mailu/fake-docker");
const SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";
/** How the fake docker runs the Mailu admin stand-in: this Node, with tsx. */
const ADMIN_STAND_IN = {
    FAKE_NODE: process.execPath,
    FAKE_TSX: pathToFileURL(require.resolve("tsx")).href,
    FAKE_MAILU_ADMIN: path.join(REPO_ROOT, "tests/fixtures/mailu/mailu-admin.ts"),
};

interface Host {
    readonly dir: string;
    readonly fake: string;
    run(args: string[], opts?: { stdin?: string; env?: Record<string, string>; withDocker?: boolean }): { status: number | null; stdout: string; stderr: string };
    calls(): string[];
    accounts(kind: "user" | "alias"): string[];
    /** Mailu's database as the admin stand-in keeps it. */
    db(): MailuDb;
    seed(db: MailuDb): void;
}

function host(): Host {
    const root = mkdtempSync(path.join(tmpdir(), "hm-mailu-"));
    const dir = path.join(root, "opt-homemail-mailu");
    const fake = path.join(root, "docker-state");
    const bin = path.join(root, "bin");
    for (const d of [dir, fake, bin]) mkdirSync(d, { recursive: true });
    copyFileSync(FAKE_DOCKER, path.join(bin, "docker"));
    writeFileSync(path.join(dir, "compose.yaml"), "name: mailu\n");
    writeFileSync(path.join(dir, "mailu.env"), "HOSTNAMES=mail.example.com,webmail.example.com\nTLS_FLAVOR=letsencrypt\n");
    const noDockerPath = systemPathWithout(["docker"], root);
    return {
        dir,
        fake,
        run(args, opts = {}) {
            const r = spawnSync("bash", [SCRIPT, ...args], {
                input: opts.stdin ?? "",
                encoding: "utf8",
                env: {
                    PATH: opts.withDocker === false ? noDockerPath : `${bin}:${SYSTEM_PATH}`,
                    HOMEMAIL_MAILU_DIR: dir,
                    HOMEMAIL_SMTP_EGRESS: path.join(root, "no-egress-script"),
                    FAKE_DOCKER_DIR: fake,
                    ...ADMIN_STAND_IN,
                    TMPDIR: root,
                    ...opts.env,
                },
            });
            return { status: r.status, stdout: r.stdout, stderr: r.stderr };
        },
        calls: () => (existsSync(path.join(fake, "calls")) ? readFileSync(path.join(fake, "calls"), "utf8").trim().split("\n") : []),
        accounts(kind) {
            return Object.keys(this.db()[kind]).sort();
        },
        db: () => (existsSync(path.join(fake, "mailu.json")) ? (JSON.parse(readFileSync(path.join(fake, "mailu.json"), "utf8")) as MailuDb) : emptyMailu()),
        seed: (db) => writeFileSync(path.join(fake, "mailu.json"), JSON.stringify(db)),
    };
}

/** Mailu with these users (enabled) and aliases, nothing else. */
function seedAccounts(h: Host, users: string[], aliases: string[]): void {
    const db = emptyMailu();
    for (const email of users) db.user[email] = { email, enabled: true };
    for (const email of aliases) db.alias[email] = { email, destination: ["admin@example.com"] };
    h.seed(db);
}

const ZONES = { "example.com": "0123456789abcdef0123456789abcdef", "example.net": "1123456789abcdef0123456789abcdef" };
/** The import YAML the component sends for the dev stack with these aliases and alternative domains. */
function importFor(aliases: { address: string; destinations: string[] }[], alternatives: string[]): string {
    const model = parseModel(
        withConfig([
            { key: "homemail:cloudflareZones", value: ZONES },
            { key: "homemail:alternativeDomains", value: alternatives.length ? { "example.com": alternatives } : {} },
            { key: "homemail:aliases", value: aliases },
        ]),
    );
    const imp = renderMailuImport(model);
    return fillImportSecrets(imp, Object.fromEntries(imp.secrets.map((s) => [s.placeholder, s.kind === "dkim" ? "test-only-dkim-pem" : `pw-${s.address}`])));
}

describe("homemail-mailu (host script)", () => {
    it("is shellcheck-clean", () => {
        const r = spawnSync("shellcheck", ["-x", SCRIPT], { encoding: "utf8" });
        if (r.error) throw new Error("shellcheck is not installed (see .ci/apt-packages.txt)");
        expect(r.stdout + r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    describe("preflight", () => {
        it("says which package to install when docker is missing", () => {
            const r = host().run(["preflight"], { withDocker: false });
            expect(r.status).toBe(1);
            expect(r.stderr).toMatch(/^preflight: docker not found: install Docker Engine/m);
        });

        it("says so when the compose plugin is missing or too old, or the engine does not answer", () => {
            const h = host();
            const missing = h.run(["preflight"], { env: { FAKE_NO_COMPOSE: "1" } });
            expect(missing.status).toBe(1);
            expect(missing.stderr).toContain("the docker compose plugin is missing");
            const old = h.run(["preflight"], { env: { FAKE_COMPOSE_VERSION: "v2.0.1" } });
            expect(old.status).toBe(1);
            expect(old.stderr).toContain("too old");
            const down = h.run(["preflight"], { env: { FAKE_INFO_RC: "1" } });
            expect(down.status).toBe(1);
            expect(down.stderr).toContain("the Docker engine does not answer");
        });

        it("passes on a host with the engine and compose 2.x", () => {
            const r = host().run(["preflight"]);
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toContain("preflight: ok (docker compose 2.29.1)");
        });
    });

    describe("up", () => {
        it("starts nothing when the project does not validate", () => {
            const h = host();
            const r = h.run(["up"], { env: { FAKE_CONFIG_RC: "1" } });
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("does not validate; nothing was started");
            expect(h.calls().some((c) => / up /.test(c))).toBe(false);
        });

        it("validates, then starts detached, removing orphans, waiting until healthy", () => {
            const h = host();
            expect(h.run(["up"]).status).toBe(0);
            const calls = h.calls();
            const config = calls.findIndex((c) => / config --quiet$/.test(c));
            const up = calls.findIndex((c) => / up --detach --remove-orphans --wait$/.test(c));
            expect(config).toBeGreaterThanOrEqual(0);
            expect(up).toBeGreaterThan(config);
        });

        it("re-applies SMTP egress after the containers started (Docker's new raw drops go above it)", () => {
            const h = host();
            const egress = path.join(h.fake, "egress");
            writeFileSync(egress, `#!/bin/sh\necho "egress $*" >> ${JSON.stringify(path.join(h.fake, "calls"))}\n`, { mode: 0o755 });
            expect(h.run(["up"], { env: { HOMEMAIL_SMTP_EGRESS: egress } }).status).toBe(0);
            const calls = h.calls();
            const up = calls.findIndex((c) => / up --detach --remove-orphans --wait$/.test(c));
            expect(calls.indexOf("egress reapply")).toBeGreaterThan(up);
            writeFileSync(egress, "#!/bin/sh\nexit 3\n", { mode: 0o755 });
            const failed = h.run(["up"], { env: { HOMEMAIL_SMTP_EGRESS: egress } });
            expect(failed.status).toBe(1);
            expect(failed.stderr).toContain("re-applying SMTP egress failed");
        });
    });

    describe("up before the front has its certificate (Let's Encrypt http-01 through the VPS)", () => {
        const quick = { HOMEMAIL_MAILU_CERT_POLL_SECONDS: "1" };
        const restarts = (h: Host) => h.calls().filter((c) => / restart front$/.test(c)).length;

        it("waits for the certificate and restarts the front exactly once when it appears, before waiting for health", () => {
            const h = host();
            const r = h.run(["up"], { env: { ...quick, FAKE_CERT_AFTER: "2", HOMEMAIL_MAILU_CERT_WAIT_SECONDS: "30" } });
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            expect(r.stdout).toContain("waiting up to 30s for the front's Let's Encrypt certificate for mail.example.com");
            const calls = h.calls();
            const restart = calls.findIndex((c) => / restart front$/.test(c));
            expect(restarts(h)).toBe(1);
            expect(restart).toBeGreaterThan(calls.findIndex((c) => / up --detach --remove-orphans$/.test(c)));
            expect(calls.findIndex((c) => / up --detach --remove-orphans --wait$/.test(c))).toBeGreaterThan(restart);
            // A re-run finds the certificate and leaves the front alone.
            expect(h.run(["up"], { env: quick }).status).toBe(0);
            expect(restarts(h)).toBe(1);
        });

        it("does not restart a front that had its certificate already", () => {
            const h = host();
            const r = h.run(["up"], { env: quick });
            expect(r.status).toBe(0);
            expect(r.stdout).not.toContain("waiting");
            expect(restarts(h)).toBe(0);
        });

        it("gives up after the bounded wait naming DNS, port 80 and PTR, and a re-run converges (one restart)", () => {
            const h = host();
            const started = Date.now();
            const r = h.run(["up"], { env: { ...quick, FAKE_CERT_AFTER: "never", HOMEMAIL_MAILU_CERT_WAIT_SECONDS: "2" } });
            expect(Date.now() - started).toBeLessThan(15_000);
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("no TLS certificate for mail.example.com after 2s");
            expect(r.stderr).toContain("http://mail.example.com/.well-known/acme-challenge/");
            expect(r.stderr).toMatch(/DNS: the A record of mail\.example\.com is the VPS's public IP/);
            expect(r.stderr).toMatch(/port 80: /);
            expect(r.stderr).toMatch(/PTR /);
            expect(restarts(h)).toBe(0);
            expect(h.calls().some((c) => / --wait$/.test(c))).toBe(false);

            // The certificate arrived meanwhile (certbot retries): the re-run restarts the front once.
            const again = h.run(["up"], { env: quick });
            expect(again.status).toBe(0);
            expect(again.stdout).toContain("restarted the front once");
            expect(restarts(h)).toBe(1);
            expect(h.run(["up"], { env: quick }).status).toBe(0);
            expect(restarts(h)).toBe(1);
        });
    });

    describe("import", () => {
        const yaml = 'user:\n  - email: "a@example.com"\n    password: "S3cr3t-sentinel-pw"\n    hash_password: true\n';

        it("runs a dry run first, then --update with the same YAML, and prints no secret", () => {
            const h = host();
            const r = h.run(["import"], { stdin: yaml });
            expect(r.status).toBe(0);
            const imports = h.calls().filter((c) => c.includes("config-import"));
            expect(imports).toHaveLength(2);
            expect(imports[0]).toMatch(/config-import (.* )?--dry-run/);
            expect(imports[0]).toContain("--update");
            expect(imports[1]).toContain("--update");
            expect(imports[1]).not.toContain("--dry-run");
            const sent = readdirSync(h.fake).filter((f) => f.startsWith("import-")).sort().map((f) => readFileSync(path.join(h.fake, f), "utf8"));
            expect(sent).toEqual([yaml, yaml]);
            expect(`${r.stdout}${r.stderr}${h.calls().join("\n")}`).not.toContain("S3cr3t-sentinel-pw");
            // The temporary copy of the YAML is gone.
            expect(readdirSync(path.dirname(h.dir)).filter((f) => f.startsWith(".homemail-mailu"))).toEqual([]);
        });

        it("changes nothing when the dry run fails, and masks the values Mailu quotes in its error", () => {
            const h = host();
            const r = h.run(["import"], { stdin: yaml, env: { FAKE_DRYRUN_FAIL: "1" } });
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("the dry run failed; Mailu was not changed");
            expect(r.stderr).toContain("invalid dkim key '<redacted>'");
            expect(r.stderr).not.toContain("SECRET");
            expect(h.calls().filter((c) => c.includes("config-import"))).toHaveLength(1);
        });

        it("refuses to run without YAML", () => {
            const r = host().run(["import"], { stdin: "" });
            expect(r.status).toBe(1);
            expect(r.stderr).toContain("no YAML on stdin");
        });
    });

    describe("import: what Mailu holds afterwards (Mailu's merge rules)", () => {
        const team = (destinations: string[]) => [{ address: "team@example.com", destinations }];

        it("on the first import, makes every list exactly the config's (no marker stored as a value)", () => {
            const h = host();
            const r = h.run(["import"], { stdin: importFor(team(["user@example.com", "admin@example.com"]), ["example.net"]) });
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            const db = h.db();
            expect(db.alias["team@example.com"].destination).toEqual(["admin@example.com", "user@example.com"]);
            expect(db.alias["postmaster@example.com"].destination).toEqual(["admin@example.com"]);
            expect(db.domain["example.com"].alternatives).toEqual(["example.net"]);
            expect(JSON.stringify(db)).not.toContain("-prune-");
            expect(db.user["user@example.com"].enabled).toBe(true);
        });

        it("removes a destination taken out of an alias, and an alternative domain taken out of a domain", () => {
            const h = host();
            expect(h.run(["import"], { stdin: importFor(team(["user@example.com", "admin@example.com"]), ["example.net"]) }).status).toBe(0);
            const r = h.run(["import"], { stdin: importFor(team(["user@example.com"]), []) });
            expect(r.stderr).toBe("");
            expect(r.status).toBe(0);
            const db = h.db();
            expect(db.alias["team@example.com"].destination).toEqual(["user@example.com"]);
            expect(db.domain["example.com"].alternatives).toEqual([]);
            expect(JSON.stringify(db)).not.toContain("-prune-");
        });

        it("changes nothing on a second import of the same config", () => {
            const h = host();
            const yaml = importFor(team(["user@example.com"]), ["example.net"]);
            expect(h.run(["import"], { stdin: yaml }).status).toBe(0);
            const before = h.db();
            const again = h.run(["import"], { stdin: yaml });
            expect(again.status).toBe(0);
            expect(again.stdout).not.toMatch(/Created|Modified|Deleted/);
            expect(h.db()).toEqual(before);
        });

        it("enables a listed user that was disabled (by hand, or by an older prune)", () => {
            const h = host();
            const yaml = importFor(team(["user@example.com"]), []);
            expect(h.run(["import"], { stdin: yaml }).status).toBe(0);
            const db = h.db();
            db.user["user@example.com"].enabled = false;
            h.seed(db);
            expect(h.run(["import"], { stdin: yaml }).status).toBe(0);
            expect(h.db().user["user@example.com"].enabled).toBe(true);
        });
    });

    describe("reconcile", () => {
        function seeded() {
            const h = host();
            writeFileSync(path.join(h.dir, "accounts.list"), "# managed by homemail, do not edit\nuser admin@example.com\nuser user@example.com\nalias abuse@example.com\n");
            // Mailu has the config's accounts, one made in the GUI, and one the config no longer has.
            seedAccounts(h, ["admin@example.com", "user@example.com", "gui@example.com", "former@example.com"], ["abuse@example.com", "oldalias@example.com"]);
            return h;
        }
        const managedFile = (h: Host) => path.join(h.dir, "state", "managed-accounts");

        it("on first use keeps everything beyond the config and reports it as not managed", () => {
            const h = seeded();
            const r = h.run(["reconcile", "--prune"]);
            expect(r.status).toBe(0);
            expect(h.accounts("user")).toEqual(["admin@example.com", "former@example.com", "gui@example.com", "user@example.com"]);
            expect(r.stdout).toContain("kept user gui@example.com: not managed by homemail");
            expect(readFileSync(managedFile(h), "utf8").trim().split("\n")).toEqual(["alias abuse@example.com", "user admin@example.com", "user user@example.com"]);
        });

        it("keeps accounts removed from the config and reports them, unless pruning; GUI accounts always stay", () => {
            const h = seeded();
            mkdirSync(path.dirname(managedFile(h)), { recursive: true });
            writeFileSync(managedFile(h), "user admin@example.com\nuser user@example.com\nuser former@example.com\nalias abuse@example.com\nalias oldalias@example.com\n");

            const report = h.run(["reconcile"]);
            expect(report.status).toBe(0);
            expect(report.stdout).toContain("kept user former@example.com: removed from the stack config; set homemail:mailu.pruneRemoved true");
            expect(report.stdout).toContain("kept alias oldalias@example.com: removed from the stack config");
            expect(report.stdout).toContain("kept user gui@example.com: not managed by homemail");
            expect(h.calls().some((c) => c.includes("-delete"))).toBe(false);
            // Still remembered as managed, so turning pruning on later deletes it.
            expect(readFileSync(managedFile(h), "utf8")).toContain("user former@example.com");

            const prune = h.run(["reconcile", "--prune"]);
            expect(prune.status).toBe(0);
            expect(prune.stdout).toContain("deleted user former@example.com");
            expect(prune.stdout).toContain("deleted alias oldalias@example.com");
            // Deleted, not only disabled (user-delete without --really keeps a disabled row).
            expect(h.calls().filter((c) => c.endsWith("user-delete --really former@example.com"))).toHaveLength(1);
            expect(h.accounts("user")).toEqual(["admin@example.com", "gui@example.com", "user@example.com"]);
            expect(h.accounts("alias")).toEqual(["abuse@example.com"]);
            expect(readFileSync(managedFile(h), "utf8")).not.toContain("former@example.com");
        });

        it("reports accounts of the config that Mailu does not have", () => {
            const h = seeded();
            seedAccounts(h, ["admin@example.com"], []);
            const r = h.run(["reconcile"]);
            expect(r.status).toBe(0);
            expect(r.stdout).toContain("missing user user@example.com: in the stack config but not in Mailu");
        });
    });
});

describe("homemail-mailu undo commands (what destroy runs)", () => {
    it("down stops the compose project (data stays), and is a no-op once compose.yaml is gone", () => {
        const h = host();
        const r = h.run(["down"]);
        expect(r.status).toBe(0);
        expect(h.calls().some((c) => / down( |$)/.test(c) && !/-v|--volumes/.test(c))).toBe(true);
        rmSync(path.join(h.dir, "compose.yaml"));
        const again = h.run(["down"]);
        expect(again.status).toBe(0);
        expect(again.stdout).toMatch(/nothing to stop/);
    });

    describe("nonlocal-bind-restore", () => {
        /** Runs it with a stand-in sysctl (records what it sets) and the given sysctl.d files. */
        const restore = (files: Record<string, string>) => {
            const h = host();
            const root = path.dirname(h.dir);
            const etc = path.join(root, "etc-sysctl.d");
            const lib = path.join(root, "lib-sysctl.d");
            const bin = path.join(root, "sysctl-bin");
            for (const d of [etc, lib, bin]) mkdirSync(d, { recursive: true });
            for (const [name, text] of Object.entries(files)) writeFileSync(path.join(name.startsWith("lib/") ? lib : etc, path.basename(name)), text);
            writeFileSync(path.join(bin, "sysctl"), `#!/bin/sh\necho "$*" >> ${root}/sysctl.calls\n`, { mode: 0o755 });
            const r = h.run(["nonlocal-bind-restore"], {
                env: {
                    PATH: `${bin}:${SYSTEM_PATH}`,
                    HOMEMAIL_SYSCTL_DIRS: `${etc} ${lib}`,
                    HOMEMAIL_SYSCTL_CONF: path.join(root, "none.conf"),
                    HOMEMAIL_MAILU_SYSCTL_FILE: path.join(etc, "60-homemail-mailu.conf"),
                },
            });
            expect(r.status).toBe(0);
            return readFileSync(path.join(root, "sysctl.calls"), "utf8").trim();
        };
        const ours = { "60-homemail-mailu.conf": "net.ipv4.ip_nonlocal_bind = 1\n" };

        it("sets the kernel default 0 when only homemail's file sets it", () => {
            expect(restore(ours)).toBe("-q -w net.ipv4.ip_nonlocal_bind=0");
        });
        it("keeps the host's own setting (another sysctl file, /etc overriding the same name in /usr/lib)", () => {
            expect(restore({ ...ours, "30-keepalived.conf": "net/ipv4/ip_nonlocal_bind=1\n" })).toBe("-q -w net.ipv4.ip_nonlocal_bind=1");
            expect(restore({ ...ours, "lib/30-x.conf": "net.ipv4.ip_nonlocal_bind = 1\n", "30-x.conf": "# off here\n" })).toBe("-q -w net.ipv4.ip_nonlocal_bind=0");
        });
    });
});

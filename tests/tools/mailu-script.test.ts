/**
 * The home server's Mailu script (assets/mailu/homemail-mailu.sh), run for real with bash against a
 * test-only docker CLI (tests/fixtures/mailu/fake-docker) that records calls and keeps Mailu's accounts
 * in files: preflight messages, dry run before update, secrets kept out of output, and the merge/prune
 * rules for accounts.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers/stack";
import { systemPathWithout } from "../helpers/pathWithout";

const SCRIPT = path.join(REPO_ROOT, "assets/mailu/homemail-mailu.sh");
const FAKE_DOCKER = path.join(REPO_ROOT, "tests/fixtures/mailu/fake-docker");
const SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

interface Host {
    readonly dir: string;
    readonly fake: string;
    run(args: string[], opts?: { stdin?: string; env?: Record<string, string>; withDocker?: boolean }): { status: number | null; stdout: string; stderr: string };
    calls(): string[];
    accounts(kind: "user" | "alias"): string[];
}

function host(): Host {
    const root = mkdtempSync(path.join(tmpdir(), "hm-mailu-"));
    const dir = path.join(root, "opt-homemail-mailu");
    const fake = path.join(root, "docker-state");
    const bin = path.join(root, "bin");
    for (const d of [dir, fake, bin]) mkdirSync(d, { recursive: true });
    copyFileSync(FAKE_DOCKER, path.join(bin, "docker"));
    writeFileSync(path.join(dir, "compose.yaml"), "name: mailu\n");
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
                    TMPDIR: root,
                    ...opts.env,
                },
            });
            return { status: r.status, stdout: r.stdout, stderr: r.stderr };
        },
        calls: () => (existsSync(path.join(fake, "calls")) ? readFileSync(path.join(fake, "calls"), "utf8").trim().split("\n") : []),
        accounts: (kind) => (existsSync(path.join(fake, kind)) ? readFileSync(path.join(fake, kind), "utf8").split("\n").filter(Boolean).sort() : []),
    };
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

    describe("reconcile", () => {
        function seeded() {
            const h = host();
            writeFileSync(path.join(h.dir, "accounts.list"), "# managed by homemail, do not edit\nuser admin@example.com\nuser user@example.com\nalias abuse@example.com\n");
            // Mailu has the config's accounts, one made in the GUI, and one the config no longer has.
            writeFileSync(path.join(h.fake, "user"), "admin@example.com\nuser@example.com\ngui@example.com\nformer@example.com\n");
            writeFileSync(path.join(h.fake, "alias"), "abuse@example.com\noldalias@example.com\n");
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
            expect(h.accounts("user")).toEqual(["admin@example.com", "gui@example.com", "user@example.com"]);
            expect(h.accounts("alias")).toEqual(["abuse@example.com"]);
            expect(readFileSync(managedFile(h), "utf8")).not.toContain("former@example.com");
        });

        it("reports accounts of the config that Mailu does not have", () => {
            const h = seeded();
            writeFileSync(path.join(h.fake, "user"), "admin@example.com\n");
            const r = h.run(["reconcile"]);
            expect(r.status).toBe(0);
            expect(r.stdout).toContain("missing user user@example.com: in the stack config but not in Mailu");
        });
    });
});

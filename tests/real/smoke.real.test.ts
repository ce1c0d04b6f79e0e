/**
 * Smoke test of the real engine (issue 16 step 1): the Go-built Pulumi CLI, in the lab's operator
 * namespace, applies a one-Command Node.js program to an sshd lab host (non-root user with
 * passwordless sudo) and takes it through up, an empty preview, an up that must change nothing, and
 * destroy, with a file backend and a private HOME and PULUMI_HOME.
 *
 * Proves: the command really ran on the lab host as its SSH user under sudo (a marker file in the
 * host's private /var/lib, absent from the machine's), the SSH key is not in the state in clear, the
 * second up and the preview change nothing and run nothing; a trigger change replaces with the
 * engine's default order (new create, then old delete: on one host path the old delete undoes the
 * new create, which mocks cannot show); destroy runs the delete command and leaves an empty stack.
 *
 * Tools come from tests/real/tools/build.sh (the cache outside the repo). Root only; locally a
 * missing tool skips with the command that builds it, in CI (CI=true) it fails.
 */
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";
import { describeRoot, isRoot } from "../helpers/root";
import { Lab, RunResult } from "../lab/harness";
import { Operator, SshHost, startSshHost } from "../lab/harness/sshHost";

const repo = path.resolve(__dirname, "../..");
const toolsCache = process.env.HOMEMAIL_TOOLS_CACHE ?? path.join(homedir(), ".cache", "homemail-tools");
const TOOLS = ["pulumi", "pulumi-language-nodejs"] as const;
const missing = TOOLS.filter((t) => !existsSync(path.join(toolsCache, "bin", t)));
const COMMAND_PLUGIN_VERSION = JSON.parse(readFileSync(path.join(repo, "node_modules/@pulumi/command/package.json"), "utf8")).version as string;
const MARKER = "/var/lib/homemail-smoke/marker";
/** Every create and delete appends a line here, so the order the engine ran them in shows. */
const LOG = "/var/lib/homemail-smoke/log";

if (isRoot && missing.length > 0) {
    const why = `real-run tools missing from ${toolsCache}/bin: ${missing.join(", ")}; run tests/real/tools/build.sh`;
    if (process.env.CI === "true") {
        test("the real-run tools are built", () => {
            throw new Error(why);
        });
    } else {
        process.stderr.write(`SKIP real run smoke test: ${why}\n`);
    }
}

const program = `"use strict";
const pulumi = require("@pulumi/pulumi");
const command = require("@pulumi/command");
const cfg = new pulumi.Config();
const marker = cfg.require("marker");
const smoke = new command.remote.Command("smoke", {
    connection: { host: cfg.require("host"), user: cfg.require("user"), privateKey: cfg.requireSecret("privateKey") },
    create: "sudo -n install -D -m 0644 /dev/stdin ${MARKER} && echo 'create " + marker + "' | sudo -n tee -a ${LOG} >/dev/null && id -un",
    delete: "echo 'delete " + marker + "' | sudo -n tee -a ${LOG} >/dev/null && sudo -n rm -f ${MARKER}",
    stdin: marker,
    triggers: [marker],
});
exports.ranAs = smoke.stdout;
`;

(isRoot && missing.length === 0 ? describeRoot : describe.skip)("real run: one remote Command through up, no-op preview/up, a replace, destroy", () => {
    let lab: Lab;
    let vps: SshHost;
    let op: Operator;
    let work: string;
    const marker = `smoke-${process.pid}`;
    const edited = `${marker}-edited`;
    const log = () => vps.host.run(["cat", LOG]).stdout.trim().split("\n");
    const times: Record<string, number> = {};

    /** Runs the Go-built CLI in the operator namespace with the engine environment; returns its result. */
    function pulumi(args: string[], opts: { input?: string; allowFailure?: boolean } = {}): RunResult {
        const started = Date.now();
        // nsenter --mount starts in the target's working directory: env -C moves to the project.
        const r = op.run(["env", "-C", path.join(work, "project"), path.join(work, "bin", "pulumi"), ...args, "--non-interactive"], {
            input: opts.input,
            allowFailure: opts.allowFailure,
            timeoutMs: 300_000,
            env: {
                PATH: `${path.join(work, "bin")}:${path.join(repo, "node_modules", ".bin")}:/usr/sbin:/usr/bin:/sbin:/bin`,
                PULUMI_HOME: path.join(work, "pulumi-home"),
                PULUMI_CONFIG_PASSPHRASE: "lab-only passphrase",
                PULUMI_SKIP_UPDATE_CHECK: "true",
                PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
                PULUMI_BACKEND_URL: `file://${path.join(work, "state")}`,
                NO_COLOR: "1",
            },
        });
        times[args[0]] = (times[args[0]] ?? 0) + (Date.now() - started);
        return r;
    }

    beforeAll(() => {
        work = mkdtempSync(path.join(tmpdir(), "hm-smoke-"));
        // The operator's /root is private: the tools go next to the project (hard links, else copies).
        mkdirSync(path.join(work, "bin"));
        for (const tool of TOOLS) {
            // bin/ holds symlinks into builds/: link the file itself (link() does not follow them).
            const from = realpathSync(path.join(toolsCache, "bin", tool));
            const to = path.join(work, "bin", tool);
            try {
                linkSync(from, to);
            } catch {
                copyFileSync(from, to);
                chmodSync(to, 0o755);
            }
        }
        const plugin = path.join(work, "pulumi-resource-command");
        writeFileSync(plugin, `#!/bin/sh\nexec node ${path.join(repo, "tests/real/standins/command-provider.js")} "$@"\n`, { mode: 0o755 });
        for (const dir of ["project", "state", "pulumi-home"]) mkdirSync(path.join(work, dir));
        const project = path.join(work, "project");
        writeFileSync(path.join(project, "Pulumi.yaml"), "name: smoke\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "smoke", private: true, main: "index.js" }));
        writeFileSync(path.join(project, "index.js"), program);
        // The repo's node_modules: the program uses the same @pulumi/pulumi and @pulumi/command as homemail.
        symlinkSync(path.join(repo, "node_modules"), path.join(project, "node_modules"));

        lab = new Lab("sm");
        vps = startSshHost(lab, { name: "vps", address: "203.0.113.10", user: "deploy" });
        op = vps.operator;

        pulumi(["plugin", "install", "resource", "command", COMMAND_PLUGIN_VERSION, "--file", plugin]);
        pulumi(["login", `file://${path.join(work, "state")}`]);
        pulumi(["stack", "init", "lab"]);
        pulumi(["config", "set", "host", vps.address]);
        pulumi(["config", "set", "user", vps.user]);
        pulumi(["config", "set", "marker", marker]);
        pulumi(["config", "set", "--secret", "privateKey"], { input: readFileSync(vps.privateKeyPath, "utf8") });
    }, 120_000);

    afterAll(() => {
        lab?.cleanup();
        if (work) rmSync(work, { recursive: true, force: true });
        process.stderr.write(`real run smoke: wall ms per command ${JSON.stringify(times)}\n`);
    });

    it("pulumi up runs the command on the lab host, as its SSH user, with sudo", () => {
        expect(vps.host.run(["test", "-e", MARKER], { allowFailure: true }).status).not.toBe(0);
        pulumi(["up", "--yes", "--skip-preview"]);
        expect(vps.host.run(["cat", MARKER]).stdout).toBe(marker);
        expect(existsSync(MARKER)).toBe(false);
        expect(pulumi(["stack", "output", "ranAs"]).stdout.trim()).toBe(vps.user);
        expect(readFileSync(path.join(work, "state", ".pulumi", "stacks", "smoke", "lab.json"), "utf8")).not.toContain("OPENSSH PRIVATE KEY");
    });

    it("a second preview and up change nothing, and run nothing on the host", () => {
        vps.host.run(["rm", "-f", MARKER]);
        pulumi(["preview", "--expect-no-changes"]);
        pulumi(["up", "--yes", "--expect-no-changes"]);
        expect(vps.host.run(["test", "-e", MARKER], { allowFailure: true }).status).not.toBe(0);
        expect(log()).toEqual([`create ${marker}`]);
    });

    it("a trigger change replaces, and the engine runs the new create before the old delete", () => {
        pulumi(["config", "set", "marker", edited]);
        const preview = pulumi(["preview", "--diff"]).stdout;
        expect(preview).toMatch(/\+-\s*command:remote:Command/);
        pulumi(["up", "--yes", "--skip-preview"]);
        expect(log()).toEqual([`create ${marker}`, `create ${edited}`, `delete ${marker}`]);
        // Create-before-delete on one path: the old delete removed what the new create wrote.
        // A component that replaces host files this way must use deleteBeforeReplace.
        expect(vps.host.run(["test", "-e", MARKER], { allowFailure: true }).status).not.toBe(0);
    });

    it("pulumi destroy runs the delete command and leaves an empty stack", () => {
        vps.host.run(["sh", "-c", `printf '%s' '${edited}' > ${MARKER}`]);
        pulumi(["destroy", "--yes"]);
        expect(vps.host.run(["test", "-e", MARKER], { allowFailure: true }).status).not.toBe(0);
        expect(log().at(-1)).toBe(`delete ${edited}`);
        const resources = JSON.parse(pulumi(["stack", "export"]).stdout).deployment.resources ?? [];
        expect(resources).toEqual([]);
    });
});

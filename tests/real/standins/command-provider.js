#!/usr/bin/env node
// Lab stand-in for the `command` provider plugin (pulumi-resource-command 1.2.1), used only while
// the real one cannot be built: the module proxy refuses github.com/pulumi/pulumi-command/provider
// at every version tried (see tests/real/README.md). It serves the one resource the stack uses,
// command:remote:Command, over the system `ssh` client, with the real provider's documented
// behaviour as far as homemail depends on it:
// - create runs `create`; a change of any input runs `update` (or `create` when unset) in place;
//   a change of `triggers` replaces (the SDK asks for that with replaceOnChanges triggers[*]);
// - delete runs `delete` when set; update and delete see the previous stdout/stderr as
//   PULUMI_COMMAND_STDOUT/PULUMI_COMMAND_STDERR unless addPreviousOutputInEnv is false;
// - `stdin` is fed to the command; outputs are the inputs plus stdout and stderr (trailing
//   newline trimmed), with `connection` kept secret;
// - nothing runs during preview; Read returns the recorded state (no drift detection).
// Differences, on purpose: `environment` is exported in front of the command (the real provider
// uses SSH setenv, which needs AcceptEnv on the server); the host key is not checked (nor does the
// real provider check it).
"use strict";
const { spawn } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const provider = require("@pulumi/pulumi/provider");

const VERSION = "1.2.1";
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const INPUTS = ["connection", "create", "update", "delete", "environment", "stdin", "triggers",
    "addPreviousOutputInEnv", "logging"];

const isSecret = (v) => v !== null && typeof v === "object" && v[SECRET_SIG] === SECRET_VALUE;
function plain(v) {
    if (isSecret(v)) return plain(v.value);
    if (Array.isArray(v)) return v.map(plain);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    return v;
}
const secret = (v) => (isSecret(v) ? v : { [SECRET_SIG]: SECRET_VALUE, value: v });
const shellQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const same = (a, b) => JSON.stringify(plain(a) ?? null) === JSON.stringify(plain(b) ?? null);

/** Runs `command` on the connection's host; resolves {stdout, stderr} or rejects with both. */
async function runRemote(conn, command, env, stdin) {
    const c = plain(conn) || {};
    if (!c.host) throw new Error("connection.host is required");
    const args = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR", "-o", `ConnectTimeout=${Math.max(1, Math.round(c.dialTimeout ?? 15))}`,
        "-p", String(c.port ?? 22), "-l", c.user ?? "root"];
    let keyDir;
    const childEnv = { ...process.env };
    if (c.privateKey) {
        keyDir = fs.mkdtempSync(path.join(os.tmpdir(), "cmd-standin-"));
        const keyFile = path.join(keyDir, "key");
        fs.writeFileSync(keyFile, c.privateKey.endsWith("\n") ? c.privateKey : `${c.privateKey}\n`, { mode: 0o600 });
        args.push("-i", keyFile, "-o", "IdentitiesOnly=yes");
    } else if (c.agentSocketPath) {
        childEnv.SSH_AUTH_SOCK = c.agentSocketPath;
    }
    const exports = Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}; `).join("");
    args.push(c.host, exports + command);
    try {
        return await new Promise((resolve, reject) => {
            const child = spawn("ssh", args, { env: childEnv, stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            child.on("error", reject);
            child.on("close", (code) => {
                const out = { stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
                if (code === 0) resolve(out);
                else reject(new Error(`Process exited with status ${code}\nstdout: ${out.stdout}\nstderr: ${out.stderr}`));
            });
            child.stdin.end(stdin ?? "");
        });
    } finally {
        if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true });
    }
}

function envFor(inputs, previous) {
    const env = { ...(plain(inputs.environment) || {}) };
    if (previous && plain(inputs.addPreviousOutputInEnv) !== false) {
        env.PULUMI_COMMAND_STDOUT = previous.stdout ?? "";
        env.PULUMI_COMMAND_STDERR = previous.stderr ?? "";
    }
    return env;
}

function outputs(inputs, result) {
    const outs = {};
    for (const k of INPUTS) if (inputs[k] !== undefined) outs[k] = inputs[k];
    if (outs.connection !== undefined) outs.connection = secret(outs.connection);
    return { ...outs, stdout: result.stdout, stderr: result.stderr };
}

async function runStep(inputs, command, previous) {
    if (!command) return { stdout: previous?.stdout ?? "", stderr: previous?.stderr ?? "" };
    return runRemote(inputs.connection, plain(command), envFor(inputs, previous), plain(inputs.stdin));
}

const commandProvider = {
    version: VERSION,
    async check(_urn, _olds, news) {
        return { inputs: news };
    },
    async diff(_id, _urn, olds, news) {
        const changed = INPUTS.filter((k) => !same(olds[k], news[k]));
        return { changes: changed.length > 0, replaces: changed.includes("triggers") ? ["triggers"] : [] };
    },
    async create(urn, inputs) {
        if (!urn.includes("::command:remote:Command::")) throw new Error(`stand-in serves only command:remote:Command, not ${urn}`);
        const result = await runStep(inputs, inputs.create, undefined);
        return { id: `${urn.split("::").pop()}${crypto.randomBytes(4).toString("hex")}`, outs: outputs(inputs, result) };
    },
    async read(id, _urn, props) {
        return { id, props };
    },
    async update(_id, _urn, olds, news) {
        const result = await runStep(news, news.update ?? news.create, { stdout: olds.stdout, stderr: olds.stderr });
        return { outs: outputs(news, result) };
    },
    async delete(_id, _urn, props) {
        await runStep(props, props.delete, { stdout: props.stdout, stderr: props.stderr });
    },
};

provider.main(commandProvider, process.argv.slice(2));

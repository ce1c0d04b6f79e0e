/** The file-install step, run for real with sh in a temp dir (the way a host runs it over SSH). */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, existsSync, readdirSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import * as path from "node:path";
import { asRoot, HostFile, fillPlaceholders, installFileCommand, parseFileHeader, placeholdersIn, secretPlaceholder } from "../../components/render/hostFile";

const me = userInfo();
const group = execFileSync("id", ["-gn"]).toString().trim();

function install(file: HostFile, stdin: string) {
    return spawnSync("sh", ["-c", installFileCommand(file)], { input: stdin, encoding: "utf8" });
}

describe("installFileCommand", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "hm-hostfile-"));
    const base: HostFile = { host: "vps", path: path.join(dir, "sub", "app.conf"), mode: "0640", owner: `${me.username}:${group}`, content: "", secret: false };

    it("installs stdin with mode and owner, creating the directory", () => {
        const r = install(base, "hello\n");
        expect(r.status).toBe(0);
        expect(r.stdout.trim()).toBe("installed");
        expect(readFileSync(base.path, "utf8")).toBe("hello\n");
        expect((statSync(base.path).mode & 0o777).toString(8)).toBe("640");
    });

    it("creates missing parent directories readable for a public file and private for a secret one", () => {
        const pub = { ...base, path: path.join(dir, "pub", "deep", "site.conf") };
        expect(install(pub, "x\n").status).toBe(0);
        expect((statSync(path.dirname(pub.path)).mode & 0o777).toString(8)).toBe("755");
        const sec = { ...base, path: path.join(dir, "sec", "deep", "token"), mode: "0600", secret: true };
        expect(install(sec, "s\n").status).toBe(0);
        expect((statSync(path.dirname(sec.path)).mode & 0o777).toString(8)).toBe("700");
        // The staged file itself is never readable by others while it is written.
        expect(installFileCommand(pub)).toMatch(/umask 077\n.*mktemp/s);
    });

    it("reports unchanged content and leaves no staging files behind", () => {
        const r = install(base, "hello\n");
        expect(r.stdout.trim()).toBe("unchanged");
        expect(readdirSync(path.dirname(base.path)).filter((f) => f.startsWith(".homemail-stage"))).toEqual([]);
    });

    it("keeps the live file when validation of the staged file fails", () => {
        const r = install({ ...base, validate: "grep -q '^valid' {}" }, "broken\n");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain("failed validation");
        expect(readFileSync(base.path, "utf8")).toBe("hello\n");
        const ok = install({ ...base, validate: "grep -q '^valid' {}" }, "valid\n");
        expect(ok.status).toBe(0);
        expect(readFileSync(base.path, "utf8")).toBe("valid\n");
    });

    it("never puts content in the command string, and handles paths like the post's @local_only_storage", () => {
        const weird = { ...base, path: path.join(dir, "@local_only_storage", "app.conf") };
        const cmd = installFileCommand({ ...weird, content: "TOP-SECRET-CONTENT" });
        expect(cmd).not.toContain("TOP-SECRET-CONTENT");
        expect(install(weird, "q\n").status).toBe(0);
        expect(existsSync(weird.path)).toBe(true);
    });

    it("decodes a binary file sent as base64 and records the encoding in the header", () => {
        const bin: HostFile = { ...base, path: path.join(dir, "bin", "key"), mode: "0644", encoding: "base64", content: "" };
        const bytes = Buffer.from([0x98, 0x33, 0x04, 0x00, 0xff, 0x0a, 0x0d]);
        const r = install(bin, bytes.toString("base64"));
        expect(r.status).toBe(0);
        expect(readFileSync(bin.path)).toEqual(bytes);
        expect(parseFileHeader(installFileCommand(bin))).toEqual({ host: "vps", path: bin.path, mode: "0644", owner: base.owner, secret: false, encoding: "base64" });
        expect(() => installFileCommand({ ...bin, content: "not base64!" })).toThrow(/not base64/);
    });

    it("carries a header the offline render reads back", () => {
        expect(parseFileHeader(installFileCommand({ ...base, secret: true, mode: "0600" }))).toEqual({ host: "vps", path: base.path, mode: "0600", owner: base.owner, secret: true });
        expect(parseFileHeader("echo hi")).toBeUndefined();
    });

    it("refuses unsafe paths, a secret file readable by group or others, and placeholders in a non-secret file", () => {
        expect(() => installFileCommand({ ...base, path: "/etc/x'; rm -rf /" })).toThrow(/not absolute\/clean/);
        expect(() => installFileCommand({ ...base, path: "/etc/../root/x" })).toThrow(/not absolute\/clean/);
        expect(() => installFileCommand({ ...base, secret: true, mode: "0640" })).toThrow(/group\/other/);
        expect(() => installFileCommand({ ...base, content: secretPlaceholder("x") })).toThrow(/not marked secret/);
    });
});

describe("asRoot", () => {
    it("leaves a root user's command alone and runs the whole command under sudo otherwise", () => {
        // A comment line first and several statements: all of it must run as root, not just the first word.
        const cmd = "# import YAML without secrets: sha256 abc\necho one && echo two; echo three | cat";
        expect(asRoot("root", cmd)).toBe(cmd);
        const wrapped = asRoot("deploy", cmd);
        expect(wrapped.startsWith("sudo -n sh -c '")).toBe(true);
        // Without the `sudo -n` prefix, the shell runs exactly the original command.
        const r = spawnSync("sh", ["-c", wrapped.slice("sudo -n ".length)], { encoding: "utf8" });
        expect(r.stdout).toBe("one\ntwo\nthree\n");
    });

    it("runs a single bare word (the SSH wait) as sudo -n <word>", () => {
        expect(asRoot("deploy", "true")).toBe("sudo -n true");
        expect(asRoot("deploy", "true; id")).toBe("sudo -n sh -c 'true; id'");
    });
});

describe("secret placeholders", () => {
    it("are found and filled, and an unknown one is an error (never shipped as a token)", () => {
        const text = `a=${secretPlaceholder("one")}\nb=${secretPlaceholder("two")}\n`;
        expect(placeholdersIn(text)).toEqual(["one", "two"]);
        expect(fillPlaceholders(text, { one: "1", two: "2" })).toBe("a=1\nb=2\n");
        expect(() => fillPlaceholders(text, { one: "1" })).toThrow(/two/);
    });
});


/** The file-install step, run for real with sh in a temp dir (the way a host runs it over SSH). */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, existsSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import * as path from "node:path";
import { describeRoot } from "../helpers/root";
import { asRoot, HostFile, fillTemplate, installFileCommand, parseFileHeader, placeholdersIn, secretHostFile, secretPlaceholder, secretSlot, templateSecrets, templateText } from "../../components/render/hostFile";

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
        expect(() => installFileCommand({ ...secretHostFile("vps", base.path, [secretSlot("x")]), secret: false })).toThrow(/not marked secret/);
        expect(() => installFileCommand({ ...secretHostFile("vps", base.path, [secretSlot("x")]), content: "other" })).toThrow(/display text/);
    });
});

describeRoot("installFileCommand against another user's symlinks (root, as on a host)", () => {
    const NOBODY = 65534;
    const root: HostFile = { host: "vps", path: "", mode: "0644", owner: "root:root", content: "", secret: false };
    /** A root-only place with a victim file and a victim directory the attacker wants root to write. */
    function scene() {
        const top = mkdtempSync(path.join(tmpdir(), "hm-symlink-"));
        chmodSync(top, 0o755);
        const victimDir = path.join(top, "victim-dir");
        mkdirSync(victimDir, { mode: 0o755 });
        const victimFile = path.join(top, "victim-file");
        writeFileSync(victimFile, "precious\n", { mode: 0o600 });
        return { top, victimDir, victimFile };
    }
    const unchanged = (s: ReturnType<typeof scene>) => {
        expect(readdirSync(s.victimDir)).toEqual([]);
        expect(readFileSync(s.victimFile, "utf8")).toBe("precious\n");
        expect((statSync(s.victimFile).mode & 0o777).toString(8)).toBe("600");
        expect(statSync(s.victimFile).uid).toBe(0);
    };

    it("replaces a symlink at the target with the file, never writing where it points (not even into a directory)", () => {
        const s = scene();
        const live = path.join(s.top, "live");
        mkdirSync(live, { mode: 0o755 });
        symlinkSync(s.victimDir, path.join(live, "to-dir.conf"));
        symlinkSync(s.victimFile, path.join(live, "to-file.conf"));
        for (const name of ["to-dir.conf", "to-file.conf"]) {
            const r = install({ ...root, path: path.join(live, name) }, "new\n");
            expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: "" });
            expect(lstatSync(path.join(live, name)).isFile()).toBe(true);
            expect(readFileSync(path.join(live, name), "utf8")).toBe("new\n");
        }
        unchanged(s);
        expect(readdirSync(live).sort()).toEqual(["to-dir.conf", "to-file.conf"]);
    });

    it("refuses, naming the directory, a target directory another user can write, with their symlink already in place", () => {
        const s = scene();
        const shared = path.join(s.top, "dynamic");
        mkdirSync(shared, { mode: 0o755 });
        chownSync(shared, NOBODY, NOBODY);
        symlinkSync(s.victimFile, path.join(shared, "homemail.yml"));
        const r = install({ ...root, path: path.join(shared, "homemail.yml") }, "new\n");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(`directory ${shared} is owned by uid ${NOBODY}`);
        expect(readlinkSync(path.join(shared, "homemail.yml"))).toBe(s.victimFile);
        unchanged(s);

        // Owned by root but group- or world-writable is just as open.
        const open = path.join(s.top, "open");
        mkdirSync(open);
        chmodSync(open, 0o777);
        const o = install({ ...root, path: path.join(open, "x.conf") }, "new\n");
        expect(o.status).not.toBe(0);
        expect(o.stderr).toContain(`directory ${open} is writable by group or others (mode 777)`);
        expect(readdirSync(open)).toEqual([]);
    });

    it("refuses a path that leads through another user's directory, even where it holds only a symlink to a root directory", () => {
        const s = scene();
        const home = path.join(s.top, "home-of-nobody");
        mkdirSync(home, { mode: 0o755 });
        symlinkSync(s.victimDir, path.join(home, "conf"));
        chownSync(home, NOBODY, NOBODY);
        const r = install({ ...root, path: path.join(home, "conf", "app.conf") }, "new\n");
        expect(r.status).not.toBe(0);
        expect(r.stderr).toContain(`directory ${home} is owned by uid ${NOBODY}`);
        // And a missing directory under it is not created either (mkdir -p would follow the symlink).
        const d = install({ ...root, path: path.join(home, "conf", "new", "app.conf") }, "new\n");
        expect(d.status).not.toBe(0);
        unchanged(s);
    });

    it("stages in a fresh root-only directory inside the target's directory and leaves nothing behind", () => {
        const s = scene();
        const live = path.join(s.top, "live");
        const seen = path.join(s.top, "staging-seen");
        const r = install({ ...root, path: path.join(live, "app.conf"), validate: `sh -c 'stat -c "%a %u %d:%i" "\${1%/*}" "\${1%/*}/.." > ${seen}' validate {}` }, "x\n");
        expect(r.status).toBe(0);
        const [staging, parent] = readFileSync(seen, "utf8").trim().split("\n").map((l) => l.split(" "));
        expect(staging.slice(0, 2)).toEqual(["700", "0"]);
        // Its parent is the target's directory itself: the final rename never crosses a filesystem.
        expect(parent[2]).toBe(`${statSync(live).dev}:${statSync(live).ino}`);
        expect(readdirSync(live)).toEqual(["app.conf"]);
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

describe("secret templates", () => {
    it("fill exactly the renderer's slots, and an unknown one is an error (never shipped as a token)", () => {
        const t = ["a=", secretSlot("one"), "\nb=", secretSlot("two"), "\n"];
        expect(templateSecrets(t)).toEqual(["one", "two"]);
        expect(templateText(t)).toBe(`a=${secretPlaceholder("one")}\nb=${secretPlaceholder("two")}\n`);
        expect(placeholdersIn(templateText(t))).toEqual(["one", "two"]);
        expect(fillTemplate(t, { one: "1", two: "2" })).toBe("a=1\nb=2\n");
        expect(fillTemplate(t, { one: "1", two: "2" }, (v) => `<${v}>`)).toBe("a=<1>\nb=<2>\n");
        expect(() => fillTemplate(t, { one: "1" })).toThrow(/two/);
    });

    it("leave token-like text in a literal part as text: a value cannot pull another secret into its place", () => {
        const t = [`name=${secretPlaceholder("two")}\npw=`, secretSlot("one"), "\n"];
        expect(fillTemplate(t, { one: "1", two: "THE-OTHER-SECRET" })).toBe(`name=${secretPlaceholder("two")}\npw=1\n`);
    });
});

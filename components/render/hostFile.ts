/**
 * Host files as data, and the one fixed shell step that installs a file on a host.
 *
 * Renderers return {@link HostFile}s in host plans; the executor (components/hostPlan.ts) pushes each
 * through a remote command whose stdin is the content and whose command string is the header line and
 * {@link installFileScript} (no content, no secret, ever). The command's first line is a machine-readable header that the offline render reads back to
 * write `out/<stack>/hosts/...` and `files.json`.
 */
import { createHash } from "node:crypto";

export type HostName = "vps" | "home";

export interface HostFile {
    readonly host: HostName;
    /** Absolute path on the host. */
    readonly path: string;
    /** Octal mode, e.g. `0644`; secret files are always `0600` or stricter. */
    readonly mode: string;
    /** `user:group`. */
    readonly owner: string;
    /**
     * File content. For secret files this holds placeholder tokens ({@link secretPlaceholder}); the
     * component swaps in the real values inside an apply, right before the content goes to stdin.
     */
    readonly content: string;
    /** True when the content carries secret values (then mode must deny group/other). */
    readonly secret: boolean;
    /**
     * `base64` for a binary file (an OpenPGP key for WKD): `content` is the base64 of its bytes, which
     * the install step decodes on the host (`base64 -d`). Unset: `content` is the file's text.
     */
    readonly encoding?: "base64";
    /**
     * A command that validates the staged file before it replaces the live one; `{}` stands for the
     * staged file's path. Runs on the host. Example: `haproxy -c -f {}`.
     */
    readonly validate?: string;
}

/** A root-owned, world-readable (0644), non-secret host file: most config files; `extra` overrides. */
export function publicHostFile(host: HostName, path: string, content: string, extra: Partial<HostFile> = {}): HostFile {
    return { host, path, mode: "0644", owner: "root:root", content, secret: false, ...extra };
}

/** Header that starts every file-install command; the offline render parses it. */
export const FILE_HEADER = "# homemail-file ";

export interface FileHeader {
    readonly host: HostName;
    readonly path: string;
    readonly mode: string;
    readonly owner: string;
    readonly secret: boolean;
    /** Present only for binary files (see {@link HostFile.encoding}). */
    readonly encoding?: "base64";
}

const MODE = /^0[0-7]{3}$/;
const OWNER = /^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/;
const PATH = /^\/[A-Za-z0-9._/@-]+$/;

/** A token that stands for a secret value in rendered text. Unique per secret name. */
export function secretPlaceholder(name: string): string {
    if (!/^[A-Za-z0-9_.:@-]+$/.test(name)) throw new Error(`bad secret placeholder name ${name}`);
    return `@@HOMEMAIL_SECRET(${name})@@`;
}

/** All placeholder names in a text, sorted and unique. */
export function placeholdersIn(text: string): string[] {
    return [...new Set([...text.matchAll(/@@HOMEMAIL_SECRET\(([A-Za-z0-9_.:@-]+)\)@@/g)].map((m) => m[1]))].sort();
}

/** Replaces every placeholder by its value; throws if one has no value (never ship a token). */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
    return text.replace(/@@HOMEMAIL_SECRET\(([A-Za-z0-9_.:@-]+)\)@@/g, (_, name: string) => {
        const v = values[name];
        if (v === undefined) throw new Error(`no value for secret placeholder ${name}`);
        return v;
    });
}

/** Single-quotes a word for POSIX sh. */
export function shellQuote(word: string): string {
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A fixed command run as root: as is for the root SSH user, else through `sudo -n sh -c` with the
 * whole command quoted (so `&&`, `;`, pipes, comments and newlines all run under sudo). A single
 * bare word (`true`, the SSH wait) runs as `sudo -n <word>`. Only the executor calls this.
 */
export function asRoot(sshUser: string, command: string): string {
    if (sshUser === "root") return command;
    return /^[A-Za-z0-9_./-]+$/.test(command) ? `sudo -n ${command}` : `sudo -n sh -c ${shellQuote(command)}`;
}

export function sha256(text: string | Buffer): string {
    return createHash("sha256").update(text).digest("hex");
}

/** Checks the invariants every host file must hold; throws a programming error otherwise. */
export function assertValidHostFile(f: HostFile): void {
    if (!PATH.test(f.path) || f.path.split("/").includes("..")) throw new Error(`host file path ${f.path} is not absolute/clean`);
    if (!MODE.test(f.mode)) throw new Error(`host file ${f.path}: mode ${f.mode} is not 0NNN`);
    if (!OWNER.test(f.owner)) throw new Error(`host file ${f.path}: owner ${f.owner} is not user:group`);
    if (f.secret && (f.mode[2] !== "0" || f.mode[3] !== "0")) {
        throw new Error(`secret host file ${f.path} has mode ${f.mode}; group/other must have no access`);
    }
    if (!f.secret && placeholdersIn(f.content).length) throw new Error(`host file ${f.path} has secret placeholders but is not marked secret`);
    if (f.encoding === "base64" && !/^[A-Za-z0-9+/]*={0,2}$/.test(f.content)) throw new Error(`host file ${f.path}: content is not base64`);
}

/** The first line of a file-install command: what the offline render reads back (files.json). */
export function fileHeaderLine(f: HostFile): string {
    const header: FileHeader = { host: f.host, path: f.path, mode: f.mode, owner: f.owner, secret: f.secret, ...(f.encoding ? { encoding: f.encoding } : {}) };
    return `${FILE_HEADER}${JSON.stringify(header)}`;
}

/**
 * The shell step that installs stdin as the file: stage next to the target (same filesystem), set
 * owner and mode before any content is visible, validate the staged copy, then rename over the target
 * (atomic: readers see the old or the new file, never half of one). Prints nothing of the content.
 * Runs as root (the executor, components/hostPlan.ts, adds sudo for a non-root SSH user).
 */
export function installFileScript(f: HostFile): string {
    assertValidHostFile(f);
    const dir = f.path.slice(0, f.path.lastIndexOf("/")) || "/";
    const steps = [
        "set -eu",
        `f=${shellQuote(f.path)}`,
        // New parent directories: readable for public files (daemons that drop root read them),
        // private for secret ones. Existing directories keep their mode.
        `(umask ${f.secret ? "077" : "022"} && mkdir -p ${shellQuote(dir)})`,
        "umask 077",
        `t=$(mktemp ${shellQuote(`${dir}/.homemail-stage.XXXXXX`)})`,
        `trap 'rm -f "$t"' EXIT`,
        `chown ${shellQuote(f.owner)} "$t"`,
        `chmod ${f.mode} "$t"`,
        f.encoding === "base64" ? `base64 -d > "$t"` : `cat > "$t"`,
        ...(f.validate ? [`${f.validate.split("{}").join('"$t"')} >&2 || { echo "homemail: $f failed validation; the live file is unchanged" >&2; exit 1; }`] : []),
        `if cmp -s "$t" "$f"; then echo unchanged; else mv -f "$t" "$f"; echo installed; fi`,
    ];
    return steps.join("\n");
}

/** The whole install command as a root SSH user gets it: header line, script (labs run this). */
export function installFileCommand(f: HostFile): string {
    return `${fileHeaderLine(f)}\n${installFileScript(f)}\n`;
}

/** Reads the header back from a command string; undefined when it is not a file-install command. */
export function parseFileHeader(command: string): FileHeader | undefined {
    if (!command.startsWith(FILE_HEADER)) return undefined;
    const line = command.slice(FILE_HEADER.length, command.indexOf("\n"));
    return JSON.parse(line) as FileHeader;
}

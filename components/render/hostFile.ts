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
     * File content. For a file with {@link secretTemplate} this is that template's display text
     * (each secret shown as its {@link secretPlaceholder} token), never what is sent.
     */
    readonly content: string;
    /**
     * Where the secret values go: the content as literal parts and secret slots. The component fills
     * exactly these slots inside an apply, right before the content goes to stdin; a token-like string
     * in a literal part (a display name, say) stays text. Only on secret files.
     */
    readonly secretTemplate?: SecretTemplate;
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

/** A position a renderer chose for a secret value; names come from renderers, never from config text. */
export interface SecretSlot {
    readonly secret: string;
}

/**
 * Rendered text with secret values at the renderer's positions: literal parts (copied as they are,
 * whatever they contain) and {@link SecretSlot}s. Filling never searches text for tokens, so a config
 * value that looks like a placeholder cannot pull a secret into its place.
 */
export type SecretTemplate = readonly (string | SecretSlot)[];

export const secretSlot = (name: string): SecretSlot => ({ secret: secretName(name) });

const SECRET_NAME = /^[A-Za-z0-9_.:-]+$/;

function secretName(name: string): string {
    if (!SECRET_NAME.test(name)) throw new Error(`bad secret placeholder name ${name}`);
    return name;
}

/** The token that shows a secret's place in display text (offline render, diffs). Unique per name. */
export function secretPlaceholder(name: string): string {
    return `@@HOMEMAIL_SECRET(${secretName(name)})@@`;
}

/** All placeholder tokens' names in a display text, sorted and unique (for checks and display only). */
export function placeholdersIn(text: string): string[] {
    return [...new Set([...text.matchAll(/@@HOMEMAIL_SECRET\(([A-Za-z0-9_.:@-]+)\)@@/g)].map((m) => m[1]))].sort();
}

/** A template's display text: each slot as its placeholder token. */
export function templateText(t: SecretTemplate): string {
    return t.map((p) => (typeof p === "string" ? p : secretPlaceholder(p.secret))).join("");
}

/** The secret names a template needs, sorted and unique. */
export function templateSecrets(t: SecretTemplate): string[] {
    return [...new Set(t.flatMap((p) => (typeof p === "string" ? [] : [p.secret])))].sort();
}

/**
 * Fills exactly the template's slots, each value passed through `escape` (for the syntax around the
 * slot); throws if one has no value (never ship a token).
 */
export function fillTemplate(t: SecretTemplate, values: Readonly<Record<string, string>>, escape: (value: string) => string = (v) => v): string {
    return t
        .map((p) => {
            if (typeof p === "string") return p;
            const v = values[p.secret];
            if (v === undefined) throw new Error(`no value for secret placeholder ${p.secret}`);
            return escape(v);
        })
        .join("");
}

/**
 * A step's stdin as a template: the whole text one secret (`secretPlaceholder(name)` and nothing
 * else), or undefined for plain text. A token anywhere else is a renderer's mistake.
 */
export function stdinTemplate(text: string): SecretTemplate | undefined {
    const whole = /^@@HOMEMAIL_SECRET\(([A-Za-z0-9_.:-]+)\)@@$/.exec(text);
    if (whole) return [secretSlot(whole[1])];
    if (placeholdersIn(text).length) throw new Error("a step's stdin is either one secret placeholder or plain text");
    return undefined;
}

/** A secret host file made from a template: its content is the template's display text. */
export function secretHostFile(host: HostName, path: string, template: SecretTemplate, extra: Partial<HostFile> = {}): HostFile {
    return { host, path, mode: "0600", owner: "root:root", content: templateText(template), secretTemplate: template, secret: true, ...extra };
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
    if (f.secretTemplate && !f.secret) throw new Error(`host file ${f.path} has secret slots but is not marked secret`);
    if (f.secretTemplate && templateText(f.secretTemplate) !== f.content) throw new Error(`host file ${f.path}: content is not its template's display text`);
    if (f.encoding === "base64" && !/^[A-Za-z0-9+/]*={0,2}$/.test(f.content)) throw new Error(`host file ${f.path}: content is not base64`);
}

/** The first line of a file-install command: what the offline render reads back (files.json). */
export function fileHeaderLine(f: HostFile): string {
    const header: FileHeader = { host: f.host, path: f.path, mode: f.mode, owner: f.owner, secret: f.secret, ...(f.encoding ? { encoding: f.encoding } : {}) };
    return `${FILE_HEADER}${JSON.stringify(header)}`;
}

/**
 * Refuses (exit 1, naming the directory) when anyone but root (and the installing user, which on a
 * host is root) could change where the target path leads: every directory on the path as written and
 * as resolved must be owned by one of them and writable by no one else. A sticky directory (`/tmp`)
 * may be world-writable above the target, since no one else can rename or remove what root owns in
 * it; the target's own directory may not. A path component that does not exist yet ends the walk: the
 * installer creates it.
 */
const REFUSE_SHARED_DIRECTORIES = [
    "homemail_check_dir() {",
    '  homemail_uid=$(stat -L -c %u -- "$1")',
    '  homemail_mode=$(stat -L -c %a -- "$1")',
    '  if [ "$homemail_uid" != 0 ] && [ "$homemail_uid" != "$homemail_me" ]; then homemail_why="is owned by uid $homemail_uid"',
    '  elif [ $((0$homemail_mode & 022)) -ne 0 ] && { [ "$1" = "$2" ] || [ $((0$homemail_mode & 01000)) -eq 0 ]; }; then homemail_why="is writable by group or others (mode $homemail_mode)"',
    "  else return 0; fi",
    '  echo "homemail: refusing to install $f: directory $1 $homemail_why, so another user could redirect the write. Fix: chown root:root $1 && chmod go-w $1" >&2',
    "  exit 1",
    "}",
    "homemail_check_path() {",
    '  homemail_check_dir / "$1"',
    "  homemail_p=''",
    "  homemail_rest=${1#/}",
    '  while [ -n "$homemail_rest" ]; do',
    '    homemail_p="$homemail_p/${homemail_rest%%/*}"',
    "    case $homemail_rest in */*) homemail_rest=${homemail_rest#*/} ;; *) homemail_rest='' ;; esac",
    '    [ -e "$homemail_p" ] || return 0',
    '    homemail_check_dir "$homemail_p" "$1"',
    "  done",
    "}",
];

/**
 * The shell step that installs stdin as the file. It refuses a directory that another user could
 * change ({@link REFUSE_SHARED_DIRECTORIES}), stages in a fresh root-only directory inside the
 * target's directory (same filesystem; no one else can swap the staged file for a symlink), sets
 * owner and mode before any content is visible, validates the staged copy, then renames it over the
 * target with `mv -fT` (atomic: readers see the old or the new file; a symlink at the target is
 * replaced, never followed, and never taken as a directory to move into). Prints nothing of the
 * content. Runs as root (the executor, components/hostPlan.ts, adds sudo for a non-root SSH user).
 */
export function installFileScript(f: HostFile): string {
    assertValidHostFile(f);
    const slash = f.path.lastIndexOf("/");
    const dir = f.path.slice(0, slash) || "/";
    const steps = [
        "set -eu",
        `f=${shellQuote(f.path)}`,
        `d=${shellQuote(dir)}`,
        `n=${shellQuote(f.path.slice(slash + 1))}`,
        "homemail_me=$(id -u)",
        ...REFUSE_SHARED_DIRECTORIES,
        // Before creating anything (mkdir -p would follow a swapped symlink) and again after.
        'homemail_check_path "$d"',
        // New parent directories: readable for public files (daemons that drop root read them),
        // private for secret ones. Existing directories keep their mode.
        `(umask ${f.secret ? "077" : "022"} && mkdir -p "$d")`,
        'homemail_check_path "$d"',
        'r=$(cd -P -- "$d" && pwd -P)',
        'homemail_check_path "$r"',
        "umask 077",
        's=$(mktemp -d "$r/.homemail-stage.XXXXXX")',
        `trap 'rm -rf "$s"' EXIT`,
        't="$s/$n"',
        ': > "$t"',
        `chown ${shellQuote(f.owner)} "$t"`,
        `chmod ${f.mode} "$t"`,
        f.encoding === "base64" ? `base64 -d > "$t"` : `cat > "$t"`,
        ...(f.validate ? [`${f.validate.split("{}").join('"$t"')} >&2 || { echo "homemail: $f failed validation; the live file is unchanged" >&2; exit 1; }`] : []),
        `if [ -f "$r/$n" ] && [ ! -L "$r/$n" ] && cmp -s "$t" "$r/$n"; then echo unchanged; else mv -fT "$t" "$r/$n"; echo installed; fi`,
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

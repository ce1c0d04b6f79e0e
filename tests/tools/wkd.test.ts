/**
 * The rendered WKD/MTA-STS site checked by the real consumer tools, on the program's render output
 * (`npm run render` for the dev stack; the dev stack plus a second domain and a two-domain key through
 * the same machinery):
 * - GnuPG's own `gpg-wks-client` computes the same WKD hashes and, with `--install-key`, writes the
 *   same tree with the same packets for every published address;
 * - Debian's nginx accepts the server block (`nginx -t`) inside a main config like the image's, and,
 *   run on loopback in a network namespace of its own (root), serves exactly the keys (gpg reads and
 *   verifies them) and the MTA-STS policy, and 404 for everything else.
 */
import { ChildProcess, spawn, spawnSync, SpawnSyncReturns } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { installFileCommand } from "../../components/render/hostFile";
import { wkdHash } from "../../components/render/wkdHash";
import { renderWkdSite, WKD_PUBLIC } from "../../components/render/wkdSite";
import { BOB_KEY, USER_KEY } from "../helpers/openpgp";
import { describeRoot } from "../helpers/root";
import { devValue, withConfig } from "../helpers/stack";
import { parseModel } from "../../components/config";
import { nginxMainConfig, renderDevStack, renderVariant, wkdDirIn } from "../helpers/wkdRender";

const temps: string[] = [];
function tempDir(prefix: string): string {
    const d = mkdtempSync(path.join(tmpdir(), prefix));
    temps.push(d);
    return d;
}
afterAll(() => {
    for (const home of gnupgHomes) spawnSync("gpgconf", ["--kill", "all"], { env: { ...process.env, GNUPGHOME: home } });
    for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function run(cmd: string, args: readonly string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<Buffer> {
    return spawnSync(cmd, args, { input: opts.input, env: opts.env ?? process.env, timeout: 30_000 });
}
function ok(cmd: string, args: readonly string[], opts: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
    const r = run(cmd, args, opts);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} -> ${r.status}\n${r.stderr?.toString()}${r.stdout?.toString()}`);
    return r.stdout.toString();
}

/** gpg-wks-client lives in gpgconf's libexecdir on Debian, not on PATH. */
function wksClient(): string {
    const libexec = ok("gpgconf", ["--list-dirs", "libexecdir"]).trim();
    for (const c of [path.join(libexec, "gpg-wks-client"), "/usr/lib/gnupg/gpg-wks-client", "/usr/libexec/gpg-wks-client"]) if (existsSync(c)) return c;
    return "gpg-wks-client";
}

const gnupgHomes: string[] = [];
/** A throw-away GnuPG home; its daemons (if gpg started any) are stopped after the tests. */
function gnupgHome(): NodeJS.ProcessEnv {
    const home = tempDir("hm-gnupg-");
    gnupgHomes.push(home);
    return { ...process.env, GNUPGHOME: home };
}

/** Every regular file below a directory, relative, sorted. */
function filesBelow(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of readdirSync(d).sort()) {
            const p = path.join(d, e);
            if (statSync(p).isDirectory()) walk(p);
            else out.push(path.relative(dir, p));
        }
    };
    walk(dir);
    return out;
}

/** `gpg --list-packets` without offsets and header encodings (gpg writes old-style headers, openpgp.js new-style). */
function packets(file: string, env: NodeJS.ProcessEnv): string {
    return ok("gpg", ["--batch", "--list-packets", file], { env })
        .split("\n")
        .filter((l) => !l.startsWith("# off="))
        .join("\n");
}

interface Published {
    readonly address: string;
    readonly fingerprint: string;
    readonly url: string;
}

/** What a render published, from its outputs.json (`wkdKeys`). */
function publishedIn(root: string): Published[] {
    return JSON.parse(readFileSync(path.join(root, "outputs.json"), "utf8")).wkdKeys as Published[];
}

const TWO_DOMAINS = () => [
    { key: "homemail:extraDomains", value: ["example.org"] },
    { key: "homemail:cloudflareZones", value: { ...devValue<Record<string, string>>("homemail:cloudflareZones"), "example.org": "fedcba9876543210fedcba9876543210" } },
    { key: "homemail:users", value: [...devValue<unknown[]>("homemail:users"), { address: "bob@example.com", displayName: "Bob", openpgpPublicKey: BOB_KEY() }] },
];
/** The armored key each address of the renders was configured with (the oracle gets the same input). */
const KEY_OF: Record<string, () => string> = { "user@example.com": USER_KEY, "bob@example.com": BOB_KEY, "bob@example.org": BOB_KEY };
/** The user ID gpg must show for each published address. */
const UID_OF: Record<string, string> = {
    "user@example.com": "Example User (homemail test-only key) <user@example.com>",
    "bob@example.com": "Bob Example (homemail test-only) <bob@example.com>",
    "bob@example.org": "Bob Example (homemail test-only) <Bob@Example.ORG>",
};

let dev: string;
let two: string;
beforeAll(async () => {
    dev = renderDevStack(tempDir("hm-wkd-render-"));
    two = await renderVariant(tempDir("hm-wkd-render-"), "two-domains", TWO_DOMAINS());
});

describe("WKD hash vs gpg-wks-client --print-wkd-hash", () => {
    it("agrees for addresses in mixed case, with dots, plus, digits and non-ASCII", () => {
        const addresses = [
            "user@example.com",
            "User@Example.COM",
            "USER@EXAMPLE.COM",
            "Joe.Doe@Example.ORG",
            "first.last+tag@example.org",
            "Alice+Tag@Example.COM",
            "x@example.net",
            "postmaster@example.com",
            "a1-b_2@example.com",
            "JÖRG@example.org",
            "jörg@example.org",
        ];
        const out = ok(wksClient(), ["--print-wkd-hash", ...addresses]).trim().split("\n");
        expect(out).toHaveLength(addresses.length);
        addresses.forEach((address, i) => {
            const [theirs, printed] = out[i].split(" ");
            const local = address.slice(0, address.lastIndexOf("@"));
            expect({ address, hash: wkdHash(local) }).toEqual({ address, hash: theirs });
            // gpg-wks-client itself lower-cases only ASCII letters of the address it prints.
            expect(printed).toBe(address.replace(/[A-Z]/g, (c) => c.toLowerCase()));
        });
    });
});

describe("the rendered tree vs gpg-wks-client --install-key", () => {
    it.each([
        ["dev stack (npm run render)", () => dev, ["user@example.com"]],
        ["dev stack + example.org + a two-domain key", () => two, ["bob@example.com", "bob@example.org", "user@example.com"]],
    ] as const)("%s: same files, same packets", (_title, root, expected) => {
        const published = publishedIn(root());
        expect(published.map((p) => p.address)).toEqual(expected);
        const ours = path.join(wkdDirIn(root()), "public", ".well-known", "openpgpkey");
        const oracle = tempDir("hm-wks-oracle-");
        const env = gnupgHome();
        for (const p of published) {
            // From the keyring (by fingerprint) gpg-wks-client exports with export-minimal, dropping
            // certifications by other keys, as we do; from a file it would keep them.
            ok("gpg", ["--batch", "--import"], { env, input: KEY_OF[p.address]() });
            ok(wksClient(), ["-C", oracle, "--install-key", p.fingerprint, p.address], { env });
        }
        const theirFiles = filesBelow(oracle);
        expect(filesBelow(ours)).toEqual(theirFiles);
        for (const f of theirFiles) {
            if (f.endsWith("/policy")) {
                expect(readFileSync(path.join(ours, f))).toHaveLength(0); // ours is empty; gpg writes a comment
                continue;
            }
            expect(packets(path.join(ours, f), env)).toBe(packets(path.join(oracle, f), env));
        }
    });
});

function nginxPrefix(root: string): { prefix: string; conf: string } {
    const prefix = tempDir("hm-nginx-");
    const conf = path.join(prefix, "nginx.conf");
    writeFileSync(conf, nginxMainConfig(prefix, wkdDirIn(root)));
    return { prefix, conf };
}

describe("nginx -t (Debian's nginx) on the rendered server block", () => {
    it.each([
        ["dev stack", () => dev],
        ["two domains", () => two],
    ] as const)("%s: accepted without warnings", (_title, root) => {
        const { prefix, conf } = nginxPrefix(root());
        const r = run("nginx", ["-t", "-p", prefix, "-c", conf, "-e", path.join(prefix, "error.log")]);
        const said = `${r.stderr.toString()}${r.stdout.toString()}`;
        expect({ status: r.status, said }).toEqual({ status: 0, said: expect.stringContaining("test is successful") });
        expect(said).not.toMatch(/\[(warn|emerg|alert|crit)\]/);
    });
});

describeRoot("nginx serving the rendered site at the loopback backend Traefik uses (own network and mount namespace)", () => {
    const ns = `hm-wkd-${process.pid}`;
    let nginx: ChildProcess | undefined;
    let site: string;
    let fetchDir: string;
    let gpgEnv: NodeJS.ProcessEnv;

    /** Where Traefik connects (the render's wkdRoutes.backendUrl): nginx on the loopback, host network. */
    let backend: string;

    beforeAll(async () => {
        site = two;
        backend = (JSON.parse(readFileSync(path.join(site, "outputs.json"), "utf8")).wkdRoutes as { backendUrl: string }).backendUrl;
        expect(backend).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const { prefix, conf } = nginxPrefix(site);
        fetchDir = tempDir("hm-wkd-fetch-");
        gpgEnv = gnupgHome();
        ok("ip", ["netns", "add", ns]);
        ok("ip", ["-n", ns, "link", "set", "lo", "up"]);
        // As in the container: the rendered site directory is /etc/nginx/conf.d (private mount namespace),
        // and the main config includes /etc/nginx/conf.d/*.conf like the image's.
        writeFileSync(conf, nginxMainConfig(prefix, "/etc/nginx/conf.d"));
        const script = 'mount --bind "$1" /etc/nginx/conf.d && exec nginx -p "$2" -c "$3" -e "$2/error.log" -g "daemon off;"';
        nginx = spawn("ip", ["netns", "exec", ns, "unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", wkdDirIn(site), prefix, conf], { stdio: ["ignore", "inherit", "inherit"] });
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline) {
            if (run("ip", ["netns", "exec", ns, "curl", "-s", "-o", "/dev/null", `${backend}/`]).status === 0) return;
            if (nginx.exitCode !== null) break;
            await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`nginx did not come up: ${existsSync(path.join(prefix, "error.log")) ? readFileSync(path.join(prefix, "error.log"), "utf8") : "no log"}`);
    });

    afterAll(async () => {
        if (nginx && nginx.exitCode === null && nginx.signalCode === null) {
            const child = nginx;
            let timer: NodeJS.Timeout | undefined;
            const exited = new Promise<void>((resolve) => {
                child.once("exit", () => resolve());
                timer = setTimeout(() => {
                    child.kill("SIGKILL");
                    resolve();
                }, 5000);
            });
            child.kill("SIGTERM"); // fast shutdown of the master, which ends its workers
            await exited;
            clearTimeout(timer);
        }
        run("ip", ["netns", "del", ns]);
    });

    let n = 0;
    /** GET (or another method) inside the namespace; returns status, headers (lower-case names) and body. */
    function fetch(host: string, urlPath: string, method = "GET"): { status: number; headers: Record<string, string>; body: Buffer; file: string } {
        const file = path.join(fetchDir, `body-${n++}`);
        const how = method === "HEAD" ? ["-I"] : ["-X", method];
        const out = ok("ip", ["netns", "exec", ns, "curl", "-s", "--path-as-is", ...how, "-H", `Host: ${host}`, "-D", "-", "-o", file, `${backend}${urlPath}`]);
        const [statusLine, ...lines] = out.trim().split("\r\n");
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
        return { status: Number(statusLine.split(" ")[1]), headers, body: existsSync(file) ? readFileSync(file) : Buffer.alloc(0), file };
    }

    it("serves every published key at its WKD URL: 200, binary, CORS, and gpg finds the address's user ID only", () => {
        const published = publishedIn(site);
        expect(published.length).toBe(3);
        for (const p of published) {
            const url = new URL(p.url);
            const r = fetch(url.hostname, `${url.pathname}${url.search}`);
            expect({ address: p.address, status: r.status }).toEqual({ address: p.address, status: 200 });
            expect(r.headers["content-type"]).toBe("application/octet-stream");
            expect(r.headers["access-control-allow-origin"]).toBe("*");
            expect(r.body.subarray(0, 5).toString()).not.toBe("-----"); // binary, never armored
            const colons = ok("gpg", ["--batch", "--with-colons", "--show-keys", r.file], { env: gpgEnv }).split("\n");
            const uids = colons.filter((l) => l.startsWith("uid:")).map((l) => l.split(":")[9]);
            expect(uids).toEqual([UID_OF[p.address]]);
            expect(colons.find((l) => l.startsWith("fpr:"))!.split(":")[9]).toBe(p.fingerprint);
        }
    });

    it("serves keys whose self-signatures gpg verifies and that it can encrypt to", () => {
        for (const p of publishedIn(site)) {
            const url = new URL(p.url);
            const r = fetch(url.hostname, url.pathname);
            ok("gpg", ["--batch", "--import", r.file], { env: gpgEnv });
            const sigs = ok("gpg", ["--batch", "--with-colons", "--check-sigs", p.fingerprint], { env: gpgEnv }).split("\n").filter((l) => l.startsWith("sig:"));
            expect(sigs.length).toBeGreaterThanOrEqual(2); // user ID certification + subkey binding
            expect(sigs.every((l) => l.split(":")[1] === "!")).toBe(true); // "!" = good signature
            const enc = run("gpg", ["--batch", "--trust-model", "always", "--armor", "--encrypt", "-r", p.fingerprint], { env: gpgEnv, input: "hello\n" });
            expect(enc.status).toBe(0);
        }
    });

    it("serves the empty policy of every domain on its own openpgpkey host", () => {
        for (const d of ["example.com", "example.org"]) {
            const r = fetch(`openpgpkey.${d}`, `/.well-known/openpgpkey/${d}/policy`);
            expect(r.status).toBe(200);
            expect(r.body).toHaveLength(0);
            expect(r.headers["access-control-allow-origin"]).toBe("*");
        }
    });

    it("serves the MTA-STS policy as text/plain on every mta-sts host, listing the model's MX host", () => {
        const mailHost = JSON.parse(readFileSync(path.join(site, "outputs.json"), "utf8")).mailHost as string;
        for (const d of ["example.com", "example.org"]) {
            const r = fetch(`mta-sts.${d}`, "/.well-known/mta-sts.txt");
            expect(r.status).toBe(200);
            expect(r.headers["content-type"]).toMatch(/^text\/plain\b/);
            const text = r.body.toString("utf8");
            expect(text).toMatch(/^version: STSv1\r\n/);
            expect(text.split("\r\n").filter((l) => l.startsWith("mx: "))).toEqual([`mx: ${mailHost}`]);
            expect(text).toMatch(/\r\nmode: (none|testing|enforce)\r\n/);
            expect(text).toMatch(/\r\nmax_age: \d+\r\n$/);
        }
    });

    it("answers 404 for directories, unknown keys, other domains' trees, other hosts and everything else", () => {
        const bobHash = wkdHash("bob");
        const cases: [string, string][] = [
            ["openpgpkey.example.com", "/"],
            ["openpgpkey.example.com", "/.well-known/"],
            ["openpgpkey.example.com", "/.well-known/openpgpkey/"],
            ["openpgpkey.example.com", "/.well-known/openpgpkey/example.com/"],
            ["openpgpkey.example.com", "/.well-known/openpgpkey/example.com/hu/"],
            ["openpgpkey.example.com", "/.well-known/openpgpkey/example.com/hu"],
            ["openpgpkey.example.com", `/.well-known/openpgpkey/example.com/hu/${wkdHash("nobody")}?l=nobody`],
            ["openpgpkey.example.com", `/.well-known/openpgpkey/example.org/hu/${bobHash}`],
            ["openpgpkey.example.com", "/.well-known/openpgpkey/example.com/hu/../../example.org/policy"],
            ["openpgpkey.example.com", "/.well-known/openpgpkey/example.com/../../../nginx.conf"],
            ["openpgpkey.example.com", "/nginx.conf"],
            ["openpgpkey.example.com", "/.well-known/mta-sts.txt"],
            ["mta-sts.example.com", `/.well-known/openpgpkey/example.com/hu/${bobHash}`],
            ["mta-sts.example.com", "/.well-known/"],
            ["mta-sts.example.com", "/"],
            ["example.com", `/.well-known/openpgpkey/example.com/hu/${bobHash}`],
            ["unknown.test", "/.well-known/mta-sts.txt"],
        ];
        const got = cases.map(([host, p]) => `${fetch(host, p).status} ${host}${p}`);
        expect(got).toEqual(cases.map(([host, p]) => `404 ${host}${p}`));
    });

    it("refuses other methods than GET/HEAD", () => {
        expect(fetch("openpgpkey.example.com", `/.well-known/openpgpkey/example.com/hu/${wkdHash("bob")}`, "POST").status).toBe(403);
        expect(fetch("openpgpkey.example.com", `/.well-known/openpgpkey/example.com/hu/${wkdHash("bob")}`, "HEAD").status).toBe(200);
    });
});

describeRoot("the site's host steps for real, on a private /opt (mount namespace)", () => {
    it("prepare makes every directory 0755 and prunes stale WKD files; the file steps then give the rendered tree", () => {
        const model = parseModel(withConfig(TWO_DOMAINS()));
        const site = renderWkdSite(model);
        const work = tempDir("hm-wkd-steps-");
        const wkd = `${WKD_PUBLIC}/.well-known/openpgpkey`;
        const steps: string[] = [
            "set -eu",
            "mount -t tmpfs homemail-test /opt",
            // What an earlier deployment left: a removed user's key, a dropped domain, a staging leftover,
            // a directory made under umask 077, and files that must stay.
            `mkdir -p -m 0700 ${wkd}/example.com/hu ${wkd}/example.net/hu`,
            `echo old > ${wkd}/example.com/hu/${wkdHash("gone")}`,
            `echo old > ${wkd}/example.com/hu/.homemail-stage.AbC123`,
            `echo old > ${wkd}/example.net/policy`,
            `: > ${wkd}/example.com/policy`,
            `echo 'old conf' > /opt/homemail/gateway/wkd/nginx.conf`,
        ];
        writeFileSync(path.join(work, "prepare.sh"), site.prepareScript);
        steps.push(`sh ${work}/prepare.sh > ${work}/prepare.out`);
        // No Docker engine here: the image's `nginx -t` on the staged file is played by Debian's nginx,
        // with the staged file included the way the image's main config includes conf.d/*.conf.
        const prefix = tempDir("hm-nginx-validate-");
        const validator = path.join(work, "nginx-t.sh");
        writeFileSync(validator, `set -eu\nsed "s|include ${prefix}/conf.d/\\*.conf;|include $1;|" ${prefix}/main.conf > ${prefix}/staged.conf\nnginx -t -q -p ${prefix} -c ${prefix}/staged.conf -e ${prefix}/error.log\n`);
        writeFileSync(path.join(prefix, "main.conf"), nginxMainConfig(prefix, `${prefix}/conf.d`));
        writeFileSync(path.join(work, "broken.conf"), "server { listen 80; bogus_directive on; }\n");
        expect(run("sh", [validator, path.join(work, "broken.conf")]).status).not.toBe(0); // the stand-in does check
        site.files.forEach((f, i) => {
            const file = f.validate ? { ...f, validate: `sh ${validator} {}` } : f;
            writeFileSync(path.join(work, `install-${i}.sh`), installFileCommand(file));
            writeFileSync(path.join(work, `stdin-${i}`), f.content);
            steps.push(`sh ${work}/install-${i}.sh < ${work}/stdin-${i} > /dev/null`);
        });
        steps.push(`cd /opt && find homemail/gateway/wkd -printf '%y %m %u:%g %p\\n' | LC_ALL=C sort > ${work}/tree.txt`);
        steps.push(`cd /opt && find homemail/gateway/wkd -type f -exec sha256sum {} + | LC_ALL=C sort -k2 > ${work}/sums.txt`);
        ok("unshare", ["-m", "--propagation", "private", "sh", "-c", steps.join("\n")]);

        const removed = readFileSync(path.join(work, "prepare.out"), "utf8").trim().split("\n").sort();
        expect(removed).toEqual([
            `removed ${wkd}/example.com/hu/.homemail-stage.AbC123`,
            `removed ${wkd}/example.com/hu/${wkdHash("gone")}`,
            `removed ${wkd}/example.net/`,
            `removed ${wkd}/example.net/hu/`,
            `removed ${wkd}/example.net/policy`,
        ]);
        const tree = readFileSync(path.join(work, "tree.txt"), "utf8").trim().split("\n");
        for (const line of tree) {
            const [type, mode, owner] = line.split(" ");
            expect({ line, mode, owner }).toEqual({ line, mode: type === "d" ? "755" : "644", owner: "root:root" });
        }
        // Byte for byte what the render writes (files.json sha256), nothing more.
        const sums = readFileSync(path.join(work, "sums.txt"), "utf8").trim().split("\n").map((l) => l.split(/\s+/));
        const rendered = (JSON.parse(readFileSync(path.join(two, "files.json"), "utf8")) as { host: string; path: string; sha256: string }[]).filter((f) => f.host === "vps" && f.path.startsWith("/opt/homemail/gateway/wkd/"));
        expect(sums.map(([sum, p]) => [`/opt/${p}`, sum])).toEqual(rendered.map((f) => [f.path, f.sha256]));
    });
});

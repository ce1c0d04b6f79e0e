/**
 * The two host steps WireguardLink runs before any config: the key step (a key born once on the
 * host, 0600, only the public key printed) and the preflight (clear failures for missing tools and
 * for an iptables backend that differs from Docker's). Run for real with bash; the preflight's view
 * of the machine is controlled through PATH with stand-in commands.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers/stack";

const ENSURE_KEY = path.join(REPO_ROOT, "assets/wireguard/ensure-key.sh");
const PREFLIGHT = path.join(REPO_ROOT, "assets/wireguard/preflight.sh");
const hasWg = spawnSync("sh", ["-c", "command -v wg"]).status === 0;

function bash(script: string, args: string[], env: Record<string, string> = {}) {
    return spawnSync("bash", [script, ...args], { encoding: "utf8", timeout: 30_000, env: { ...process.env, ...env } });
}

describe("key step (assets/wireguard/ensure-key.sh)", () => {
    (hasWg ? it : it.skip)("generates the key once, 0600, prints only the matching public key, never rotates", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "hm-key-"));
        const keyFile = path.join(dir, "wireguard", "wg0.key");
        const first = bash(ENSURE_KEY, [keyFile]);
        expect(first.status).toBe(0);
        const privateKey = readFileSync(keyFile, "utf8").trim();
        expect(statSync(keyFile).mode & 0o777).toBe(0o600);
        const publicKey = first.stdout.trim();
        expect(first.stdout).toBe(`${publicKey}\n`);
        expect(publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        expect(publicKey).not.toBe(privateKey);
        expect(first.stdout + first.stderr).not.toContain(privateKey);
        // The public key is the one wg derives from the stored private key.
        expect(spawnSync("wg", ["pubkey"], { input: `${privateKey}\n`, encoding: "utf8" }).stdout.trim()).toBe(publicKey);
        const second = bash(ENSURE_KEY, [keyFile]);
        expect(second.stdout.trim()).toBe(publicKey);
        expect(readFileSync(keyFile, "utf8").trim()).toBe(privateKey);
    });

    (hasWg ? it : it.skip)("keeps the key for the same epoch, makes a new one (0600, old gone) for a new epoch, and records it", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "hm-key-"));
        const keyFile = path.join(dir, "wg0.key");
        const run = (epoch: string) => {
            const r = bash(ENSURE_KEY, [keyFile, epoch]);
            expect(r.status).toBe(0);
            return r.stdout.trim();
        };
        const epoch0 = run("0");
        const oldPrivate = readFileSync(keyFile, "utf8");
        expect(run("0")).toBe(epoch0);
        expect(readFileSync(`${keyFile}.epoch`, "utf8")).toBe("0\n");

        const epoch1 = run("1");
        expect(epoch1).not.toBe(epoch0);
        expect(epoch1).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        expect(statSync(keyFile).mode & 0o777).toBe(0o600);
        expect(statSync(`${keyFile}.epoch`).mode & 0o777).toBe(0o600);
        expect(readFileSync(`${keyFile}.epoch`, "utf8")).toBe("1\n");
        // The old private key is nowhere in the directory: not in the key file, no leftover copy.
        for (const f of readdirSync(dir)) expect(readFileSync(path.join(dir, f), "utf8")).not.toContain(oldPrivate.trim());
        expect(readdirSync(dir).sort()).toEqual(["wg0.key", "wg0.key.epoch"]);
        expect(run("1")).toBe(epoch1);
    });

    (hasWg ? it : it.skip)("takes a key from before epochs were recorded as epoch 0 (upgrading never rotates)", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "hm-key-"));
        const keyFile = path.join(dir, "wg0.key");
        const old = bash(ENSURE_KEY, [keyFile]).stdout.trim();
        rmSync(`${keyFile}.epoch`);
        expect(bash(ENSURE_KEY, [keyFile, "0"]).stdout.trim()).toBe(old);
        expect(readFileSync(`${keyFile}.epoch`, "utf8")).toBe("0\n");
    });

    it("refuses an epoch that is not a whole number, before touching anything", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "hm-key-"));
        const r = bash(ENSURE_KEY, [path.join(dir, "wg0.key"), "1; rm -rf /"]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(/epoch .* is not a whole number/);
        expect(readdirSync(dir)).toEqual([]);
    });
});

describe("preflight (assets/wireguard/preflight.sh)", () => {
    /** A PATH holding bash plus stand-ins: name -> script body (or true for a link to the real tool). */
    function fakePath(tools: Record<string, string | true>): string {
        const dir = mkdtempSync(path.join(tmpdir(), "hm-preflight-"));
        for (const base of ["bash", "grep", "cat"]) symlinkSync(spawnSync("sh", ["-c", `command -v ${base}`], { encoding: "utf8" }).stdout.trim(), path.join(dir, base));
        for (const [name, body] of Object.entries(tools)) {
            const file = path.join(dir, name);
            if (body === true) symlinkSync("/bin/true", file);
            else {
                writeFileSync(file, `#!/bin/sh\n${body}\n`);
                chmodSync(file, 0o755);
            }
        }
        return dir;
    }
    const allTools = { wg: true, "wg-quick": true, ip: true, flock: true } as const;
    const run = (tools: Record<string, string | true>) => bash(PREFLIGHT, [], { PATH: fakePath(tools) });

    it("passes when the tools are there and Docker's chains are in the backend iptables uses", () => {
        const r = run({ ...allTools, iptables: "echo 'iptables v1.8.9 (nf_tables)'", "iptables-nft-save": "echo ':DOCKER-USER - [0:0]'", "iptables-legacy-save": "true" });
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toMatch(/preflight: ok \(iptables backend: nft\)/);
    });

    it("fails naming the package when wireguard-tools or iptables is missing", () => {
        const noWg = run({ ip: true, flock: true, iptables: "echo 'iptables v1.8.9 (nf_tables)'" });
        expect(noWg.status).toBe(1);
        expect(noWg.stderr).toMatch(/preflight: wg not found: install the wireguard-tools package/);
        expect(noWg.stderr).toMatch(/preflight: wg-quick not found/);
        const noIptables = run({ ...allTools });
        expect(noIptables.status).toBe(1);
        expect(noIptables.stderr).toMatch(/preflight: iptables not found: install the iptables package/);
    });

    it("fails when Docker's chains live in the other iptables backend", () => {
        const r = run({ ...allTools, iptables: "echo 'iptables v1.8.9 (nf_tables)'", "iptables-nft-save": "true", "iptables-legacy-save": "printf '*filter\\n:DOCKER - [0:0]\\n:DOCKER-USER - [0:0]\\n'" });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/uses the nft backend but Docker's chains are in the legacy backend/);
        const reverse = run({ ...allTools, iptables: "echo 'iptables v1.8.7 (legacy)'", "iptables-legacy-save": "true", "iptables-nft-save": "echo ':DOCKER-USER - [0:0]'" });
        expect(reverse.status).toBe(1);
        expect(reverse.stderr).toMatch(/uses the legacy backend but Docker's chains are in the nft backend/);
    });
});

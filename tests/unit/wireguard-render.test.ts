/** wg0.conf renderer: invariants of the hub-and-spoke design, not copies of the output. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { Model } from "../../components/config";
import { renderWireguard, sortCidrs, WireguardModel } from "../../components/render/wireguard";
import { devModel } from "../helpers/stack";

// Two syntactically valid, obviously fake keys.
const KEYS = { hub: `${"A".repeat(42)}E=`, spoke: `${"B".repeat(42)}A=` };

/** `Key = value` lines of one section of a wg-quick config, in order. */
function section(conf: string, name: "Interface" | "Peer"): [string, string][] {
    const body = conf.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? "";
    return body
        .split("\n")
        .slice(1)
        .filter((l) => l && !l.startsWith("#"))
        .map((l) => {
            const i = l.indexOf("=");
            return [l.slice(0, i).trim(), l.slice(i + 1).trim()] as [string, string];
        });
}
const values = (conf: string, name: "Interface" | "Peer", key: string) => section(conf, name).filter(([k]) => k === key).map(([, v]) => v);
const allowedIps = (conf: string) => values(conf, "Peer", "AllowedIPs").flatMap((v) => v.split(/,\s*/));

function cidrRange(c: string): [number, number] {
    const [ip, len] = c.split("/");
    const n = ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
    const size = 2 ** (32 - Number(len));
    return [n, n + size - 1];
}

function reversedKeys<T extends object>(o: T): T {
    return Object.fromEntries(Object.entries(o).reverse()) as T;
}

describe("renderWireguard", () => {
    const model: Model = devModel();
    const a = model.addresses;
    const { hub, spoke } = renderWireguard(model, KEYS);

    it("writes no private key: each host loads its own key file in PostUp", () => {
        for (const f of [hub, spoke]) {
            expect(f.content).not.toMatch(/^\s*PrivateKey\s*=/im);
            expect(section(f.content, "Interface").map(([k]) => k)).not.toContain("PrivateKey");
            expect(values(f.content, "Interface", "PostUp")[0]).toBe("wg set %i private-key /etc/wireguard/wg0.key");
            expect(f.path).toBe("/etc/wireguard/wg0.conf");
            expect(f.mode).toBe("0600");
        }
        expect(hub.host).toBe("vps");
        expect(spoke.host).toBe("home");
    });

    it("spoke: Table = off, loose rp_filter, keepalive, every destination allowed to the hub", () => {
        expect(values(spoke.content, "Interface", "Table")).toEqual(["off"]);
        expect(values(spoke.content, "Interface", "PostUp").join("\n")).toMatch(/rp_filter=2/);
        expect(new Set(allowedIps(spoke.content))).toEqual(new Set(["0.0.0.0/0", a.wgNetwork]));
        expect(values(spoke.content, "Peer", "PersistentKeepalive")).toEqual([String(a.wgKeepalive)]);
        expect(values(spoke.content, "Peer", "Endpoint")).toEqual([`${a.wgEndpointHost}:${a.wgPort}`]);
        expect(values(spoke.content, "Peer", "PublicKey")).toEqual([KEYS.hub]);
        // Its address's prefix is the WireGuard network: the only route wg0 gets with Table = off.
        const [address] = values(spoke.content, "Interface", "Address");
        expect(address).toBe(`${a.wgSpoke}/${a.wgNetwork.split("/")[1]}`);
    });

    it("spoke: with egress, wg-quick's PostUp re-applies the egress policy (wg0's routes died with it)", () => {
        expect(values(spoke.content, "Interface", "PostUp").join("\n")).toMatch(/homemail-smtp-egress reapply/);
        const off = renderWireguard({ ...model, egress: { ...model.egress, enabled: false } }, KEYS);
        expect(off.spoke.content).not.toMatch(/homemail-smtp-egress/);
    });

    it("hub: the spoke's /32 and the Mailu subnet, nothing else, and no two AllowedIPs overlap", () => {
        expect(new Set(allowedIps(hub.content))).toEqual(new Set([`${a.wgSpoke}/32`, a.mailuSubnet]));
        expect(values(hub.content, "Peer", "PublicKey")).toEqual([KEYS.spoke]);
        expect(values(hub.content, "Interface", "ListenPort")).toEqual([String(a.wgPort)]);
        const ranges = allowedIps(hub.content).map(cidrRange);
        for (let i = 0; i < ranges.length; i++)
            for (let j = i + 1; j < ranges.length; j++) expect(ranges[i][1] < ranges[j][0] || ranges[j][1] < ranges[i][0]).toBe(true);
        const off = renderWireguard({ ...model, egress: { ...model.egress, enabled: false } }, KEYS);
        expect(allowedIps(off.hub.content)).toEqual([`${a.wgSpoke}/32`]);
    });

    it("hub: FORWARD rules are narrow, idempotent, tagged, and PostDown removes every tagged rule (also an older config's), nothing else", () => {
        const up = values(hub.content, "Interface", "PostUp").filter((l) => l.includes("FORWARD"));
        const down = values(hub.content, "Interface", "PostDown");
        expect(up.length).toBeGreaterThan(0);
        const spec = (line: string, op: string) => line.split(` ${op} FORWARD `)[1].split(" 2>/dev/null")[0].split(" || ")[0];
        for (const line of up) {
            // check-before-change: -C the same spec, then -A it
            expect(line).toMatch(/^iptables -w 10 -C FORWARD (.+) 2>\/dev\/null \|\| iptables -w 10 -A FORWARD \1$/);
            const words = spec(line, "-C");
            expect(words).toMatch(/--comment homemail-wireguard/);
            // never the post's `-i wg0 -j ACCEPT`: every accept names both interfaces and a source or destination
            expect(words).toMatch(/-i \S+ -o \S+/);
            expect(words).toMatch(/ -[sd] \d/);
        }
        // PostDown deletes every tagged FORWARD rule iptables-save lists (also an older config's),
        // and nothing else: run it with stand-ins for iptables-save and iptables.
        expect(down).toHaveLength(1);
        const rules = up.map((l) => spec(l, "-C").replace(/%i/g, "wg0"));
        const old = "-i wg0 -o eth0 -s 192.168.204.0/24 -p tcp -m tcp --dport 25 -m comment --comment homemail-wireguard -j ACCEPT";
        const foreign = "-i eth0 -o docker0 -j ACCEPT";
        const dir = mkdtempSync(path.join(tmpdir(), "hm-postdown-"));
        writeFileSync(path.join(dir, "iptables-save"), `#!/bin/sh\nprintf '%s\\n' '*filter' ${[...rules, old, foreign].map((r) => `'-A FORWARD ${r}'`).join(" ")} COMMIT\n`, { mode: 0o755 });
        writeFileSync(path.join(dir, "iptables"), `#!/bin/sh\necho "$*" >> ${dir}/deleted\n`, { mode: 0o755 });
        const r = spawnSync("bash", ["-c", down[0]], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });
        expect(r.status).toBe(0);
        const deleted = readFileSync(path.join(dir, "deleted"), "utf8").trim().split("\n");
        expect(deleted.sort()).toEqual([...rules, old].map((x) => `-w 10 -D FORWARD ${x}`).sort());
        rmSync(dir, { recursive: true, force: true });
        const fromWan = up.map((l) => spec(l, "-C")).filter((w) => w.startsWith(`-i ${a.vpsWanInterface}`));
        expect(fromWan).toHaveLength(1);
        expect(fromWan[0]).toMatch(/--ctstate ESTABLISHED,RELATED/);
        const toWan = up.map((l) => spec(l, "-C")).filter((w) => w.includes(`-o ${a.vpsWanInterface}`));
        expect(toWan).toEqual([expect.stringMatching(new RegExp(`-s ${a.mailuSubnet.replace(/\./g, "\\.")} -p tcp --dport 25 `))]);
    });

    it("is deterministic: same model -> same bytes, whatever order the input objects list their keys in", () => {
        const again = renderWireguard(model, KEYS);
        const shuffled: WireguardModel = { egress: reversedKeys(model.egress), addresses: reversedKeys(model.addresses) };
        const reordered = renderWireguard(shuffled, { spoke: KEYS.spoke, hub: KEYS.hub });
        for (const r of [again, reordered]) {
            expect(r.hub.content).toBe(hub.content);
            expect(r.spoke.content).toBe(spoke.content);
        }
        expect(hub.content.endsWith("\n")).toBe(true);
        expect(hub.content.split("\n")[0]).toMatch(/managed by homemail, do not edit/);
    });

    it("sorts CIDRs the same forward and reversed", () => {
        const list = ["192.168.203.0/24", "10.0.1.2/32", "0.0.0.0/0", "10.0.1.0/24"];
        expect(sortCidrs(list)).toEqual(sortCidrs([...list].reverse()));
        expect(sortCidrs(list)[0]).toBe("0.0.0.0/0");
    });

    it("refuses a malformed public key", () => {
        expect(() => renderWireguard(model, { ...KEYS, hub: "not-a-key" })).toThrow(/hub public key/);
    });
});

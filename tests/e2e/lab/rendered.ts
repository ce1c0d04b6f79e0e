/**
 * The dev stack (the lab stack) rendered exactly as a user renders it,
 * `npm run render -- --include-secrets --out DIR`, and read by the e2e lab. The lab installs and runs
 * these files; it never writes its own copy of anything the program renders. A file the render does
 * not produce fails the test loudly, naming the file and the component that should make it.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { FileEntry } from "../../../scripts/lib/writeOut";
import type { DnsRecordOut } from "../../../scripts/lib/zoneFile";
import { REPO_ROOT } from "../../helpers/stack";
import { Host, run } from "../../lab/harness";

export type RenderedHost = "vps" | "home";

/** Which component renders the files under a path, for the message when one is missing. */
const PRODUCERS: readonly (readonly [prefix: string, component: string])[] = [
    ["/etc/wireguard/", "WireguardLink"],
    ["/etc/homemail/smtp-egress.env", "WireguardLink (SMTP egress)"],
    ["/usr/local/", "WireguardLink (SMTP egress)"],
    ["/opt/homemail/gateway/wkd/", "WkdSite"],
    ["/opt/homemail/gateway/", "VpsGateway"],
    ["/opt/homemail/mailu/", "HomeMailServer"],
];

export class RenderedStack {
    private constructor(
        /** `DIR/<stack>`: hosts/, dns/, files.json, ... */
        readonly root: string,
    ) {}

    /** Renders the stack into `outDir` (wiped) with the test-only secret fixtures filled in. */
    static render(outDir: string, stack = "dev"): RenderedStack {
        run(["npm", "run", "--silent", "render", "--", "--stack", stack, "--out", outDir, "--include-secrets"], { cwd: REPO_ROOT, timeoutMs: 120_000 });
        return new RenderedStack(path.join(outDir, stack));
    }

    /** Every host file of the render (files.json). */
    entries(host?: RenderedHost): FileEntry[] {
        const all = JSON.parse(readFileSync(path.join(this.root, "files.json"), "utf8")) as FileEntry[];
        return host ? all.filter((f) => f.host === host) : all;
    }

    /** The bytes of a rendered host file; throws naming the file and its component when absent. */
    file(host: RenderedHost, filePath: string): Buffer {
        const local = path.join(this.root, "hosts", host, filePath);
        if (!existsSync(local)) {
            const producer = PRODUCERS.find(([prefix]) => filePath.startsWith(prefix))?.[1] ?? "no known component";
            throw new Error(`missing rendered file: ${host}:${filePath} (expected from ${producer}; not in ${path.relative(REPO_ROOT, this.root) || this.root}/hosts/${host}). The e2e lab runs it once that component's branch is merged.`);
        }
        return readFileSync(local);
    }

    text(host: RenderedHost, filePath: string): string {
        return this.file(host, filePath).toString("utf8");
    }

    /** Installs every rendered file of `host` at its path and mode inside that lab host. */
    installAll(host: RenderedHost, into: Host): void {
        for (const f of this.entries(host)) into.install(f.path, this.file(host, f.path), f.mode);
    }

    /** The DNS records (records.json). */
    records(): DnsRecordOut[] {
        return JSON.parse(readFileSync(path.join(this.root, "dns", "records.json"), "utf8")) as DnsRecordOut[];
    }

    /** The rendered BIND zone file of a zone. */
    zoneFile(zone: string): string {
        const file = path.join(this.root, "dns", `${zone}.zone`);
        if (!existsSync(file)) throw new Error(`missing rendered zone file dns/${zone}.zone`);
        return readFileSync(file, "utf8");
    }

    /** The stack outputs (outputs.json). */
    outputs(): Record<string, unknown> {
        return JSON.parse(readFileSync(path.join(this.root, "outputs.json"), "utf8")) as Record<string, unknown>;
    }
}

/** `npm run doctor -- ...` arguments. A bad argument is a UsageError (exit 2, one line). */

import { UsageError, flagValue } from "../cliArgs";

export { UsageError };

export interface DoctorArgs {
    readonly stack: string;
    /** Stack outputs as `pulumi stack output --json` prints them; default: ask the Pulumi CLI if there is one. */
    readonly outputsFile?: string;
    readonly json: boolean;
    readonly only: readonly string[];
    readonly skip: readonly string[];
    /** Servers to ask every DNS question (`ADDR` or `ADDR:PORT`); default: each zone's NS. */
    readonly dnsServers: readonly string[];
    /** Extra trusted CA certificates (PEM) for HTTPS, on top of Node's roots. */
    readonly caFile?: string;
    /** DNSSEC trust anchors for delv (`-a FILE`, bind.keys format); default: the root's. */
    readonly trustAnchor?: string;
    /** ssh_config file passed to `ssh -F` (host aliases, keys, known_hosts). */
    readonly sshConfig?: string;
    /** Per network operation, ms. */
    readonly timeoutMs: number;
    /** Remote MX the egress check connects to on port 25 from Mailu's smtp container (default gmail-smtp-in.l.google.com). */
    readonly egressProbe?: string;
    /** IP and domain blocklist zones and the resolver to ask them through. */
    readonly blocklists: { readonly ipZone: string; readonly domainZone: string; readonly resolver?: string };
}

export const USAGE = `usage: npm run doctor -- [--stack NAME] [--outputs FILE] [--json] [--only AREA|ID,...] [--skip AREA|ID,...]
                      [--dns-server ADDR[:PORT]]... [--ca-file PEM] [--trust-anchor FILE] [--ssh-config FILE] [--timeout MS]
                      [--dnsbl-zone ZONE] [--dbl-zone ZONE] [--blocklist-resolver ADDR]
                      [--egress-probe HOST]
areas: dns, dnssec, identity, tls, web, blocklist, inside, exposure, drift; exit 0 no check failed, 1 a check failed, 2 usage or config error
`;

const zoneName = (flag: string, v: string) => {
    const zone = v.toLowerCase().replace(/\.$/, "");
    if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(zone)) throw new UsageError(`${flag} ${v}: give a DNS zone name such as zen.spamhaus.org`);
    return zone;
};
const list = (v: string) => v.split(",").map((s) => s.trim()).filter(Boolean);

export function parseDoctorArgs(argv: readonly string[]): DoctorArgs | "help" {
    let stack = "dev";
    let outputsFile: string | undefined;
    let json = false;
    const only: string[] = [];
    const skip: string[] = [];
    const dnsServers: string[] = [];
    let caFile: string | undefined;
    let trustAnchor: string | undefined;
    let sshConfig: string | undefined;
    let timeoutMs = 5000;
    let ipZone = "zen.spamhaus.org";
    let domainZone = "dbl.spamhaus.org";
    let blocklistResolver: string | undefined;
    let egressProbe: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const value = () => flagValue(argv, i++);
        switch (a) {
            case "--stack": stack = value(); break;
            case "--outputs": outputsFile = value(); break;
            case "--json": json = true; break;
            case "--only": only.push(...list(value())); break;
            case "--skip": skip.push(...list(value())); break;
            case "--dns-server": dnsServers.push(...list(value())); break;
            case "--ca-file": caFile = value(); break;
            case "--trust-anchor": trustAnchor = value(); break;
            case "--ssh-config": sshConfig = value(); break;
            case "--dnsbl-zone": ipZone = zoneName(a, value()); break;
            case "--dbl-zone": domainZone = zoneName(a, value()); break;
            case "--blocklist-resolver": {
                blocklistResolver = value();
                if (!/^[0-9.]+$|^[0-9a-fA-F:]+$/.test(blocklistResolver)) throw new UsageError(`--blocklist-resolver ${blocklistResolver}: give an IP address`);
                break;
            }
            case "--egress-probe": {
                egressProbe = value().toLowerCase().replace(/\.$/, "");
                if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(egressProbe)) throw new UsageError(`--egress-probe ${egressProbe}: give the host name or IPv4 address of a remote MX, such as gmail-smtp-in.l.google.com`);
                break;
            }
            case "--timeout": {
                const v = value();
                timeoutMs = Number(v);
                if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000) throw new UsageError(`--timeout ${v}: give milliseconds between 100 and 120000`);
                break;
            }
            case "--help":
            case "-h":
                return "help";
            default:
                throw new UsageError(`unknown argument ${a} (see --help)`);
        }
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new UsageError(`bad stack name ${stack}`);
    for (const s of dnsServers) {
        if (!/^[0-9.]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$|^[0-9a-fA-F:]+$/.test(s)) throw new UsageError(`--dns-server ${s}: give an IP address, optionally with :PORT`);
    }
    return { stack, outputsFile, json, only, skip, dnsServers, caFile, ...(trustAnchor ? { trustAnchor } : {}), sshConfig, timeoutMs, ...(egressProbe ? { egressProbe } : {}), blocklists: { ipZone, domainZone, ...(blocklistResolver ? { resolver: blocklistResolver } : {}) } };
}

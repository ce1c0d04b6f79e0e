/**
 * Real mail authentication software for the lab's Postfix instances:
 * - sending side: OpenDKIM signing with the rendered DKIM key (Mailu signs with rspamd; any real
 *   signer proves the key and the published record belong together);
 * - receiving side: SPF by pyspf (postfix-policyd-spf-python, a Received-SPF header), DKIM by
 *   OpenDKIM, DMARC by OpenDMARC from the published record with its alignment rules, reading those
 *   two results. Each adds its verdict to the message, as a real receiver does.
 *
 * Milters run in the foreground as tracked lab processes, on the namespace's own loopback.
 */
import { chownSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Place } from "../../lab/harness";
import { waitListening } from "./listening";
import { userId } from "./users";

/** Where a milter listens, as Postfix names it. */
export type MilterSocket = `inet:127.0.0.1:${number}`;

export interface SigningKey {
    /** `d=`: the domain the signature speaks for. */
    readonly domain: string;
    /** `s=`: the selector under `_domainkey.<domain>`. */
    readonly selector: string;
    /** PEM private key. */
    readonly privateKeyPem: string;
}

/** OpenDKIM signing every message from the given domains (SigningTable matches the From domain). */
export function startDkimSigner(place: Place, dir: string, keys: readonly SigningKey[], port: number): MilterSocket {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const uid = userId("opendkim");
    const keyTable: string[] = [];
    const signingTable: string[] = [];
    for (const k of keys) {
        const keyFile = path.join(dir, `${k.domain}.${k.selector}.key`);
        writeFileSync(keyFile, k.privateKeyPem, { mode: 0o600 });
        chownSync(keyFile, uid, -1);
        keyTable.push(`${k.selector}._domainkey.${k.domain} ${k.domain}:${k.selector}:${keyFile}`);
        signingTable.push(`*@${k.domain} ${k.selector}._domainkey.${k.domain}`);
    }
    writeFileSync(path.join(dir, "KeyTable"), keyTable.join("\n") + "\n");
    writeFileSync(path.join(dir, "SigningTable"), signingTable.join("\n") + "\n");
    return startMilter(place, dir, "opendkim", port, {
        Mode: "s",
        KeyTable: `file:${path.join(dir, "KeyTable")}`,
        SigningTable: `refile:${path.join(dir, "SigningTable")}`,
        Canonicalization: "relaxed/relaxed",
        OversignHeaders: "From",
        // The lab's scratch directory is under /tmp, which OpenDKIM calls unsafe for keys.
        RequireSafeKeys: "false",
    });
}

/** OpenDKIM verifying signatures; its Authentication-Results carry `authservId`. */
export function startDkimVerifier(place: Place, dir: string, authservId: string, resolver: string, port: number): MilterSocket {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    // Debian's OpenDKIM resolves with libunbound, which by default answers nothing under the
    // special-use names (RFC 6761 `test.`); the lab's own resolver is the only authority here.
    const unbound = path.join(dir, "unbound.conf");
    writeFileSync(unbound, 'server:\n  local-zone: "test." nodefault\n');
    return startMilter(place, dir, "opendkim", port, { Mode: "v", AuthservID: authservId, Nameservers: resolver, ResolverConfiguration: unbound });
}

/**
 * OpenDMARC: looks up `_dmarc.<From domain>` and judges alignment from the SPF (Received-SPF) and
 * DKIM (Authentication-Results of `authservId`) verdicts above it; it does no SPF check of its own,
 * so a DMARC pass needs pyspf's pass.
 */
export function startDmarcVerifier(place: Place, dir: string, authservId: string, port: number): MilterSocket {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    return startMilter(place, dir, "opendmarc", port, {
        AuthservID: authservId,
        TrustedAuthservIDs: authservId,
        SPFIgnoreResults: "false",
        SPFSelfValidate: "false",
        PublicSuffixList: "/usr/share/publicsuffix/public_suffix_list.dat",
        // The default ignores 127.0.0.1 only; nothing arrives from there, but be explicit.
        IgnoreHosts: "/dev/null",
    });
}

/**
 * pyspf as a Postfix policy service: the master.cf line and the main.cf settings that consult it.
 * It only reports (adds Received-SPF); rejecting is not what the lab measures.
 */
export function spfPolicyService(dir: string, authservId: string): { service: string[]; main: Record<string, string> } {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const conf = path.join(dir, "policyd-spf.conf");
    writeFileSync(
        conf,
        [
            "debugLevel = 1",
            "TestOnly = 1",
            "HELO_reject = False",
            "Mail_From_reject = False",
            "PermError_reject = False",
            "TempError_Defer = False",
            "skip_addresses = 127.0.0.0/8",
            `Authserv_Id = ${authservId}`,
            "",
        ].join("\n"),
    );
    return {
        // Debian's Python modules import only under the system interpreter.
        service: ["policyd-spf unix - n n - 0 spawn", `  user=nobody argv=/usr/bin/python3 /usr/bin/policyd-spf ${conf}`],
        main: {
            "policyd-spf_time_limit": "60",
            smtpd_recipient_restrictions: "permit_mynetworks, reject_unauth_destination, check_policy_service unix:private/policyd-spf",
        },
    };
}

/**
 * Writes `<daemon>.conf` (listening on the namespace's loopback, no syslog, dropping root for the
 * package's user), starts the daemon in the foreground and returns its socket as Postfix names it.
 */
function startMilter(place: Place, dir: string, daemon: "opendkim" | "opendmarc", port: number, settings: Record<string, string>): MilterSocket {
    const conf = path.join(dir, `${daemon}.conf`);
    const all = { Socket: `inet:${port}@127.0.0.1`, ...settings, Syslog: "false", UserID: daemon };
    writeFileSync(conf, Object.entries(all).map(([k, v]) => `${k} ${v}`).join("\n") + "\n");
    place.spawn([daemon, "-f", daemon === "opendkim" ? "-x" : "-c", conf]);
    waitListening(place, port, daemon);
    return `inet:127.0.0.1:${port}`;
}

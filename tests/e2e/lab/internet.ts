/**
 * The lab's Internet: a router whose ISP edge towards the home range drops tcp/25 (as residential
 * ISPs do), an authoritative DNS server that every lab host uses as its resolver, and a remote mail
 * domain `remote.test` whose MX is a real Postfix with real SPF, DKIM and DMARC verifiers.
 *
 *   vps 203.0.113.10 --- isp --- home 198.51.100.20            (the dev stack's addresses)
 *                         |
 *                   ix 192.0.2.0/24: dns 192.0.2.53 (the rendered zones' NS glue), mx.remote.test
 */
import * as path from "node:path";
import { Host, Lab, Netns, Place } from "../../lab/harness";
import { startDkimVerifier, startDmarcVerifier, spfPolicyService } from "./milters";
import { startNamed, ZoneText } from "./named";
import { Postfix } from "./postfix";

export const REMOTE_DOMAIN = "remote.test";
/** The remote domain's one mailbox. */
export const REMOTE_USER = `someone@${REMOTE_DOMAIN}`;
export const REMOTE_MX_HOST = `mx.${REMOTE_DOMAIN}`;
/** authserv-id of the remote's verifiers (RFC 8601): their Authentication-Results carry it. */
export const REMOTE_AUTHSERV_ID = REMOTE_DOMAIN;

export interface InternetPlan {
    /** The home line's public address (the dev stack's home WAN IP): its /24 is the ISP's home range. */
    readonly homeWanIp: string;
    /** The DNS server's address (the NS glue the rendered zone files carry). */
    readonly dnsAddress: string;
    /** Zones the DNS server serves besides the remote domain's (the rendered ones, the PTR zone). */
    readonly zones: readonly ZoneText[];
}

export interface Internet {
    readonly isp: Netns;
    readonly dns: Netns;
    /** The resolver every lab host uses. */
    readonly dnsAddress: string;
    /** mx.remote.test: the remote domain's MX and the lab's remote client (swaks, gpg). */
    readonly remote: Host;
    readonly remoteAddress: string;
    readonly remoteMx: Postfix;
    /** The router's address on the segment of `publicIp` (that site's default gateway). */
    gatewayFor(publicIp: string): string;
    /** Packets the ISP edge has dropped so far: tcp/25 from the home range. */
    droppedHomeSmtp(): number;
}

/** The /24 of an address with a last octet: how the lab cuts its TEST-NET segments. */
const onSegment = (address: string, lastOctet: number) => address.replace(/\.\d+$/, `.${lastOctet}`);

export function buildInternet(lab: Lab, plan: InternetPlan): Internet {
    const isp = lab.netns("isp");
    const dns = lab.netns("dns");
    const remote = lab.host("remote");
    const remoteAddress = onSegment(plan.dnsAddress, 80);
    const homeSegment = `${onSegment(plan.homeWanIp, 0)}/24`;

    // The exchange: one bridge in the router for the DNS server and the remote domain.
    isp.sh(`set -e
        ip link add ix type bridge
        ip address add ${onSegment(plan.dnsAddress, 1)}/24 dev ix
        ip link set ix up
        sysctl -q -w net.ipv4.ip_forward=1`);
    for (const [place, address, port] of [[dns, plan.dnsAddress, "ix-dns"], [remote, remoteAddress, "ix-remote"]] as const) {
        lab.link(isp, port, undefined, place, "eth0", `${address}/24`);
        isp.run(["ip", "link", "set", port, "master", "ix"]);
        place.run(["ip", "route", "add", "default", "via", onSegment(plan.dnsAddress, 1)]);
    }
    // The ISP edge of the home line: no outbound SMTP from residential addresses.
    isp.run(["iptables", "-A", "FORWARD", "-s", homeSegment, "-p", "tcp", "--dport", "25", "-j", "DROP"]);

    const remoteZone: ZoneText = {
        name: REMOTE_DOMAIN,
        text: [
            `$ORIGIN ${REMOTE_DOMAIN}.`,
            "$TTL 300",
            `@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300`,
            "@ IN NS ns1",
            `ns1 IN A ${plan.dnsAddress}`,
            `@ IN MX 10 ${REMOTE_MX_HOST}.`,
            `${REMOTE_MX_HOST}. IN A ${remoteAddress}`,
            "",
        ].join("\n"),
    };
    startNamed(dns, path.join(lab.dir, "named"), plan.dnsAddress, [...plan.zones, remoteZone]);
    useResolver(remote, plan.dnsAddress);

    const milters = path.join(lab.dir, "remote-milters");
    const dkim = startDkimVerifier(remote, path.join(milters, "opendkim"), REMOTE_AUTHSERV_ID, plan.dnsAddress, 8891);
    const dmarc = startDmarcVerifier(remote, path.join(milters, "opendmarc"), REMOTE_AUTHSERV_ID, 8893);
    const spf = spfPolicyService(path.join(milters, "policyd-spf"), REMOTE_AUTHSERV_ID);
    const remoteMx = new Postfix(lab, remote, path.join(lab.dir, "postfix-remote"), {
        hostname: REMOTE_MX_HOST,
        listen: remoteAddress,
        mailboxes: [REMOTE_USER],
        // SPF (policy service, at RCPT) runs before the milters see the message; DKIM before DMARC.
        main: { ...spf.main, smtpd_milters: `${dkim}, ${dmarc}`, milter_default_action: "tempfail" },
        services: spf.service,
    });
    remoteMx.start();

    return {
        isp,
        dns,
        dnsAddress: plan.dnsAddress,
        remote,
        remoteAddress,
        remoteMx,
        gatewayFor: (publicIp) => onSegment(publicIp, 1),
        droppedHomeSmtp: () => {
            const rules = isp.run(["iptables", "-L", "FORWARD", "-v", "-x", "-n"]).stdout.split("\n");
            const drop = rules.find((l) => / DROP /.test(l) && l.includes("dpt:25") && l.includes(homeSegment));
            if (!drop) throw new Error("the ISP's tcp/25 drop rule is gone");
            return Number(drop.trim().split(/\s+/)[0]);
        },
    };
}

/** Makes `host` resolve through the lab's DNS server (its private /etc). */
export function useResolver(host: Host, dnsAddress: string): void {
    host.install("/etc/resolv.conf", `nameserver ${dnsAddress}\noptions timeout:1 attempts:2\n`);
}

/** Connects a site to the ISP: a link, its public address, and the default route through the ISP. */
export function connectSite(lab: Lab, internet: Internet, site: Place, publicIp: string): void {
    const gateway = internet.gatewayFor(publicIp);
    lab.link(internet.isp, `to-${site.name}`, `${gateway}/24`, site, "eth0", `${publicIp}/24`);
    site.run(["ip", "route", "add", "default", "via", gateway]);
}

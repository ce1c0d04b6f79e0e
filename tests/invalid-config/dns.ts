/**
 * Invalid configs of the DNS keys (issue 3): each is the dev stack with one thing wrong, and the key
 * the error must name. Records would otherwise be published wrong (a proxied MTA-STS host, reports
 * sent nowhere) or the Cloudflare API would refuse them half-way through `pulumi up`.
 */
import type { InvalidCase } from "./cases";

export const DNS_CASES: InvalidCase[] = [
    { title: "DMARC subdomain policy not one of the choices", changes: [{ key: "homemail:dmarc", value: { subdomainPolicy: "block" } }], key: "homemail:dmarc.subdomainPolicy", mentions: "quarantine" },
    { title: "DMARC DKIM alignment not relaxed/strict", changes: [{ key: "homemail:dmarc", value: { dkimAlignment: "loose" } }], key: "homemail:dmarc.dkimAlignment", mentions: "relaxed" },
    { title: "DMARC SPF alignment not relaxed/strict", changes: [{ key: "homemail:dmarc", value: { spfAlignment: "s" } }], key: "homemail:dmarc.spfAlignment", mentions: "strict" },
    { title: "DMARC report address not an address", changes: [{ key: "homemail:dmarc", value: { reportAddress: "dmarc.example.com" } }], key: "homemail:dmarc.reportAddress", mentions: "not an e-mail address" },
    { title: "DMARC reports to a mailbox that does not exist here", changes: [{ key: "homemail:dmarc", value: { reportAddress: "nobody@example.com" } }], key: "homemail:dmarc.reportAddress", mentions: "neither a user nor an alias" },
    { title: "TLS-RPT reports to a mailbox that does not exist here", changes: [{ key: "homemail:tlsRptAddress", value: "nobody@example.com" }], key: "homemail:tlsRptAddress", mentions: "neither a user nor an alias" },
    { title: "MTA-STS mode not one of the choices", changes: [{ key: "homemail:mtaSts", value: { mode: "on" } }], key: "homemail:mtaSts.mode", mentions: "enforce" },
    { title: "MTA-STS max_age below one day", changes: [{ key: "homemail:mtaSts", value: { maxAgeSeconds: 3600 } }], key: "homemail:mtaSts.maxAgeSeconds", mentions: "86400" },
    { title: "MTA-STS max_age above RFC 8461's year", changes: [{ key: "homemail:mtaSts", value: { maxAgeSeconds: 40000000 } }], key: "homemail:mtaSts.maxAgeSeconds", mentions: "31557600" },
    { title: "MTA-STS host proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["mta-sts.example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "WKD host proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["openpgpkey.example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "mail domain apex proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "proxied host outside every zone", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["www.example.net"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "not inside any zone" },
    { title: "zone map without zones", changes: [{ key: "homemail:cloudflareZones", value: {} }], key: "homemail:cloudflareZones", mentions: "lists no zone" },
    { title: "DKIM selector with an underscore", changes: [{ key: "homemail:dkimSelector", value: "dkim_2024" }], key: "homemail:dkimSelector", mentions: "DNS label" },
];

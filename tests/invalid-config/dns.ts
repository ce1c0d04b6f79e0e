/** DNS policy: DKIM selector, DMARC policy and alignment, MTA-STS mode and max_age. */
import type { InvalidCase } from "./cases";

export const DNS_CASES: InvalidCase[] = [
    { title: "DMARC policy not one of the choices", changes: [{ key: "homemail:dmarc", value: { policy: "block" } }], key: "homemail:dmarc.policy", mentions: "quarantine" },
    { title: "DMARC subdomain policy not one of the choices", changes: [{ key: "homemail:dmarc", value: { subdomainPolicy: "block" } }], key: "homemail:dmarc.subdomainPolicy", mentions: "quarantine" },
    { title: "DMARC DKIM alignment not relaxed/strict", changes: [{ key: "homemail:dmarc", value: { dkimAlignment: "loose" } }], key: "homemail:dmarc.dkimAlignment", mentions: "relaxed" },
    { title: "DMARC SPF alignment not relaxed/strict", changes: [{ key: "homemail:dmarc", value: { spfAlignment: "s" } }], key: "homemail:dmarc.spfAlignment", mentions: "strict" },
    { title: "unknown DMARC field gets a suggestion", changes: [{ key: "homemail:dmarc", value: { polcy: "reject" } }], key: "homemail:dmarc.polcy", mentions: "did you mean homemail:dmarc.policy" },
    { title: "MTA-STS mode not one of the choices", changes: [{ key: "homemail:mtaSts", value: { mode: "on" } }], key: "homemail:mtaSts.mode", mentions: "enforce" },
    { title: "MTA-STS max_age below one day", changes: [{ key: "homemail:mtaSts", value: { maxAgeSeconds: 3600 } }], key: "homemail:mtaSts.maxAgeSeconds", mentions: "86400" },
    { title: "MTA-STS max_age above RFC 8461's year", changes: [{ key: "homemail:mtaSts", value: { maxAgeSeconds: 40000000 } }], key: "homemail:mtaSts.maxAgeSeconds", mentions: "31557600" },
    { title: "MTA-STS max_age not an integer", changes: [{ key: "homemail:mtaSts", value: { maxAgeSeconds: 86400.5 } }], key: "homemail:mtaSts.maxAgeSeconds", mentions: "int" },
    { title: "DKIM selector not a DNS label", changes: [{ key: "homemail:dkimSelector", value: "dkim.2024" }], key: "homemail:dkimSelector", mentions: "DNS label" },
    { title: "DKIM selector with an underscore", changes: [{ key: "homemail:dkimSelector", value: "dkim_2024" }], key: "homemail:dkimSelector", mentions: "DNS label" },
    { title: "DKIM selector longer than a label", changes: [{ key: "homemail:dkimSelector", value: "d".repeat(64) }], key: "homemail:dkimSelector", mentions: "DNS label" },
];

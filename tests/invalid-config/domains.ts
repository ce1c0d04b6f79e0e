/** Domains and zones: Cloudflare zones and account, mail domains, the mail host, extra and proxied hostnames. */
import type { InvalidCase } from "./cases";

const ZONE = "0123456789abcdef0123456789abcdef";

export const DOMAIN_CASES: InvalidCase[] = [
    { title: "missing primary domain", changes: [{ key: "homemail:primaryDomain", value: undefined }], key: "homemail:primaryDomain", mentions: "required" },
    { title: "primary domain not a hostname", changes: [{ key: "homemail:primaryDomain", value: "example" }], key: "homemail:primaryDomain", mentions: "not a valid hostname" },
    { title: "primary domain without a zone", changes: [{ key: "homemail:primaryDomain", value: "example.net" }], key: "homemail:primaryDomain", mentions: "not inside any zone" },
    { title: "extra domain without a zone", changes: [{ key: "homemail:extraDomains", value: ["example.org"] }], key: "homemail:extraDomains[0]", mentions: "not inside any zone" },
    { title: "extra domain repeating the primary", changes: [{ key: "homemail:extraDomains", value: ["Example.com"] }], key: "homemail:extraDomains[0]", mentions: "more than once" },
    { title: "alternative domain keyed by an unknown domain", changes: [{ key: "homemail:alternativeDomains", value: { "other.com": ["alt.example.com"] } }], key: 'homemail:alternativeDomains["other.com"]', mentions: "not homemail:primaryDomain" },
    { title: "alternative domain equal to its parent", changes: [{ key: "homemail:alternativeDomains", value: { "example.com": ["example.com"] } }], key: 'homemail:alternativeDomains["example.com"][0]', mentions: "more than once" },
    { title: "missing zones", changes: [{ key: "homemail:cloudflareZones", value: undefined }], key: "homemail:cloudflareZones", mentions: "required" },
    { title: "zone map without zones", changes: [{ key: "homemail:cloudflareZones", value: {} }], key: "homemail:cloudflareZones", mentions: "lists no zone" },
    { title: "zone id not 32 hex", changes: [{ key: "homemail:cloudflareZones", value: { "example.com": "not-an-id" } }], key: 'homemail:cloudflareZones["example.com"]', mentions: "zone id" },
    { title: "zone id in upper case", changes: [{ key: "homemail:cloudflareZones", value: { "example.com": ZONE.toUpperCase() } }], key: 'homemail:cloudflareZones["example.com"]', mentions: "lowercase hex" },
    { title: "unquoted numeric zone id: quote it, no false 'required'", changes: [{ key: "homemail:cloudflareZones", value: { "example.com": 1234567890123456 } }], key: 'homemail:cloudflareZones["example.com"]', mentions: "quote the value", absent: "is required but not set" },
    { title: "zone name not a hostname", changes: [{ key: "homemail:cloudflareZones", value: { "example.com": ZONE, "bad_zone.com": ZONE } }], key: 'homemail:cloudflareZones["bad_zone.com"]', mentions: "not a valid zone name" },
    { title: "two zone names differing only in case", changes: [{ key: "homemail:cloudflareZones", value: { "example.com": ZONE, "Example.COM": "1123456789abcdef0123456789abcdef" } }], key: 'homemail:cloudflareZones["Example.COM"]', mentions: "DNS names ignore case" },
    { title: "account id not 32 hex", changes: [{ key: "homemail:cloudflareAccountId", value: "1234" }], key: "homemail:cloudflareAccountId", mentions: "account id" },
    { title: "account id of digits that YAML read as a number", changes: [{ key: "homemail:cloudflareAccountId", value: "1234567890" }], key: "homemail:cloudflareAccountId", mentions: "quote it" },
    { title: "missing account id", changes: [{ key: "homemail:cloudflareAccountId", value: undefined }], key: "homemail:cloudflareAccountId", mentions: "required" },
    { title: "mail host outside every zone", changes: [{ key: "homemail:mailHost", value: "mail.example.net" }], key: "homemail:mailHost", mentions: "not inside any zone" },
    { title: "invalid hostname", changes: [{ key: "homemail:mailHost", value: "mail_host.example.com" }], key: "homemail:mailHost", mentions: "not a valid hostname" },
    { title: "mail host with a trailing dot", changes: [{ key: "homemail:mailHost", value: "mail.example.com." }], key: "homemail:mailHost", mentions: "not a valid hostname" },
    { title: "mail host label longer than 63", changes: [{ key: "homemail:mailHost", value: `${"m".repeat(64)}.example.com` }], key: "homemail:mailHost", mentions: "not a valid hostname" },
    { title: "extra hostname outside every zone", changes: [{ key: "homemail:extraHostnames", value: ["webmail.example.net"] }], key: "homemail:extraHostnames[0]", mentions: "not inside any zone" },
    { title: "extra hostname that is the MTA-STS host", changes: [{ key: "homemail:extraHostnames", value: ["mta-sts.example.com"] }], key: "homemail:extraHostnames[0]", mentions: "served by the VPS itself" },
    { title: "extra hostname that is the WKD host", changes: [{ key: "homemail:extraHostnames", value: ["webmail.example.com", "OpenPGPKey.example.com"] }], key: "homemail:extraHostnames[1]", mentions: "served by the VPS itself" },
    { title: "mail host proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["mail.example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "MTA-STS host proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["mta-sts.example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "WKD host proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["openpgpkey.example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "mail domain apex proxied through Cloudflare", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "grey cloud" },
    { title: "proxied host outside every zone", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["www.example.net"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "not inside any zone" },
    { title: "proxied host homemail does not publish", changes: [{ key: "homemail:cloudflareProxiedHosts", value: ["www.example.com"] }], key: "homemail:cloudflareProxiedHosts[0]", mentions: "not a web host homemail publishes" },
];

/**
 * Keys and values as such: unknown keys, fields and namespaces (with a suggestion), encodings,
 * secrets set in plain text, and the checks every string gets (placeholder syntax, control
 * characters, lengths).
 */
import type { InvalidCase } from "./cases";
import { devValue } from "../helpers/stack";

const vps = () => devValue("homemail:vps");
const user = () => devValue<Record<string, unknown>[]>("homemail:users")[0];
const withUser = (fields: Record<string, unknown>) => [{ key: "homemail:users", value: [{ ...user(), ...fields }] }];

export const KEY_CASES: InvalidCase[] = [
    { title: "unknown key (typo) gets a suggestion", changes: [{ key: "homemail:mailSubent", value: "192.168.203.0/24" }], key: "homemail:mailSubent", mentions: "did you mean homemail:mailSubnet" },
    { title: "unknown key far from every key: remove it", changes: [{ key: "homemail:colour", value: "blue" }], key: "homemail:colour", mentions: "pulumi config rm homemail:colour" },
    { title: "unknown key differing only in case", changes: [{ key: "homemail:primarydomain", value: "example.com" }], key: "homemail:primarydomain", mentions: "did you mean homemail:primaryDomain" },
    { title: "unknown namespace (typo of homemail)", changes: [{ key: "homemial:dmarc", value: JSON.stringify({ policy: "reject" }) }], key: "homemial:dmarc", mentions: "did you mean homemail:dmarc" },
    { title: "unknown namespace far from every namespace", changes: [{ key: "mailserver:domain", value: "example.com" }], key: "mailserver:domain", mentions: /does not read \(it reads homemail, cloudflare/ },
    { title: "unknown namespace (typo of cloudflare)", changes: [{ key: "cloudflair:apiToken", value: "x" }], key: "cloudflair:apiToken", mentions: "did you mean cloudflare:apiToken" },
    { title: "unknown field inside an object gets a suggestion", changes: [{ key: "homemail:vps", value: { ...vps(), publicIP: "203.0.113.10" } }], key: "homemail:vps.publicIP", mentions: "did you mean homemail:vps.publicIp" },
    { title: "unknown field inside a list item gets a suggestion", changes: withUser({ displayname: "User" }), key: "homemail:users[0].displayname", mentions: "did you mean homemail:users[0].displayName" },
    { title: "unknown field inside an alias", changes: [{ key: "homemail:aliases", value: [{ address: "info@example.com", destination: ["user@example.com"] }] }], key: "homemail:aliases[0].destination", mentions: "did you mean homemail:aliases[0].destinations" },
    { title: "not a YAML object", changes: [{ key: "homemail:vps", value: "{not json" }], key: "homemail:vps", mentions: "structured value" },
    { title: "object where a list belongs", changes: [{ key: "homemail:users", value: { address: "user@example.com" } }], key: "homemail:users", mentions: "expected array" },
    { title: "boolean spelled wrong", changes: [{ key: "homemail:exampleAddresses", value: "yes" }], key: "homemail:exampleAddresses", mentions: "true or false" },
    { title: "SSH private key set in plain text", changes: [{ key: "homemail:vpsSshPrivateKey", value: "-----BEGIN OPENSSH PRIVATE KEY-----" }], key: "homemail:vpsSshPrivateKey", mentions: "--secret" },
    { title: "home SSH private key set in plain text", changes: [{ key: "homemail:homeSshPrivateKey", value: "-----BEGIN OPENSSH PRIVATE KEY-----" }], key: "homemail:homeSshPrivateKey", mentions: "--secret" },
    { title: "user passwords set in plain text", changes: [{ key: "homemail:userPasswords", value: { "user@example.com": "hunter2hunter2" } }], key: "homemail:userPasswords", mentions: "--secret" },
    { title: "Cloudflare credential in plain text", changes: [{ key: "cloudflare:apiToken", value: "abc" }], key: "cloudflare:apiToken", mentions: "--secret" },
    { title: "Cloudflare API key in plain text", changes: [{ key: "cloudflare:apiKey", value: "abc" }], key: "cloudflare:apiKey", mentions: "--secret" },
    { title: "empty string value", changes: [{ key: "homemail:mailHost", value: "   " }], key: "homemail:mailHost", mentions: "must not be empty" },
    { title: "secret placeholder syntax in a display name", changes: withUser({ displayName: "@@HOMEMAIL_SECRET(password:admin@example.com)@@" }), key: "homemail:users[0].displayName", mentions: "secret placeholder syntax" },
    { title: "secret placeholder syntax in a password", changes: [{ key: "homemail:userPasswords", value: { "user@example.com": "x@@HOMEMAIL_SECRET(dkim:example.com)@@" }, secret: true }], key: 'homemail:userPasswords["user@example.com"]', mentions: "secret placeholder syntax" },
    { title: "secret placeholder syntax in an alias destination", changes: [{ key: "homemail:aliases", value: [{ address: "info@example.com", destinations: ["@@HOMEMAIL_SECRET(x)@@"] }] }], key: "homemail:aliases[0].destinations[0]", mentions: "secret placeholder syntax" },
    { title: "secret placeholder syntax in an object key", changes: [{ key: "homemail:cloudflareZones", value: { "example.com": "0123456789abcdef0123456789abcdef", "@@HOMEMAIL_SECRET(a)@@": "x" } }], key: 'homemail:cloudflareZones["@@HOMEMAIL_SECRET(a)@@"]', mentions: "secret placeholder syntax" },
    { title: "U+FFFE in a password", changes: [{ key: "homemail:userPasswords", value: { "user@example.com": "pass\uFFFEword-long-enough" }, secret: true }], key: 'homemail:userPasswords["user@example.com"]', mentions: "U+FFFE" },
    { title: "U+FFFF in a display name", changes: withUser({ displayName: "User\uFFFF" }), key: "homemail:users[0].displayName", mentions: "U+FFFF" },
    { title: "a password's message never repeats it", changes: [{ key: "homemail:userPasswords", value: { "user@example.com": "hunter2\u0007hunter2" }, secret: true }], key: 'homemail:userPasswords["user@example.com"]', mentions: /the secret value contains the character U\+0007(?!.*hunter2)/ },
    { title: "newline in a display name", changes: withUser({ displayName: "User\nX-Injected: 1" }), key: "homemail:users[0].displayName", mentions: "U+000A" },
    { title: "carriage return in the mail host", changes: [{ key: "homemail:mailHost", value: "mail.example.com\r" }], key: "homemail:mailHost", mentions: "U+000D" },
    { title: "tab in a DMARC report address", changes: [{ key: "homemail:dmarc", value: { reportAddress: "admin@example.com\t" } }], key: "homemail:dmarc.reportAddress", mentions: "U+0009" },
    { title: "NUL in the primary domain", changes: [{ key: "homemail:primaryDomain", value: "example.com\u0000" }], key: "homemail:primaryDomain", mentions: "U+0000" },
    { title: "escape character in an alias address", changes: [{ key: "homemail:aliases", value: [{ address: "info\u001b@example.com", destinations: ["user@example.com"] }] }], key: "homemail:aliases[0].address", mentions: "U+001B" },
    { title: "C1 control character in a display name", changes: withUser({ displayName: "User\u0085" }), key: "homemail:users[0].displayName", mentions: "U+0085" },
    { title: "lone surrogate in a display name", changes: withUser({ displayName: "User\uD800" }), key: "homemail:users[0].displayName", mentions: "U+D800" },
    { title: "200,000-character display name", changes: withUser({ displayName: "x".repeat(200_000) }), key: "homemail:users[0].displayName", mentions: "more than the 160 allowed" },
    { title: "display name over Mailu's 160 characters", changes: withUser({ displayName: "x".repeat(161) }), key: "homemail:users[0].displayName", mentions: "160" },
    { title: "200,000-character password", changes: [{ key: "homemail:userPasswords", value: { "user@example.com": "p".repeat(200_000) }, secret: true }], key: 'homemail:userPasswords["user@example.com"]', mentions: "more than the 1024 allowed" },
    { title: "megabyte OpenPGP key", changes: withUser({ openpgpPublicKey: "A".repeat(300_000) }), key: "homemail:users[0].openpgpPublicKey", mentions: "262144" },
];

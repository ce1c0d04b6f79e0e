/**
 * The shape of every `homemail:*` config key: how its string value is decoded, its zod schema, whether
 * it must be a secret, and an example used in error messages. Semantic checks (addresses, overlaps,
 * zones) live in the per-area validators of validate/; this file only says what each key looks like.
 */
import { z } from "zod";

export const NAMESPACE = "homemail";

/** How Pulumi hands the value over: everything arrives as a string. */
export type Encoding = "string" | "boolean" | "number" | "json";

export interface KeySpec {
    readonly encoding: Encoding;
    readonly schema: z.ZodType;
    /** `required`: must be set with `--secret`. */
    readonly secret?: "required";
    /** A `pulumi config set` line that shows a valid value. */
    readonly example: string;
}

const str = z.string().trim().min(1, "must not be empty");
const strList = z.array(str);
const port = z.number().int().min(1).max(65535);

const sshFields = {
    sshHost: str.optional(),
    sshPort: port.optional(),
    sshUser: str.optional(),
    sshHostKey: str.optional(),
};

const users = z.array(
    z
        .object({
            address: str,
            displayName: str.optional(),
            quotaBytes: z.number().int().positive().optional(),
            openpgpPublicKey: str.optional(),
        })
        .strict(),
);

const aliases = z.array(
    z.object({ address: str, destinations: z.array(str).min(1, "needs at least one destination") }).strict(),
);

const dmarcPolicy = z.enum(["none", "quarantine", "reject"]);
const alignment = z.enum(["relaxed", "strict"]);

/** Every key homemail reads, without the `homemail:` prefix. Unknown keys are errors (typos). */
export const KEYS = {
    exampleAddresses: {
        encoding: "boolean",
        schema: z.boolean(),
        example: "pulumi config set homemail:exampleAddresses true   # only for example/lab stacks",
    },
    primaryDomain: { encoding: "string", schema: str, example: "pulumi config set homemail:primaryDomain example.com" },
    extraDomains: {
        encoding: "json",
        schema: strList,
        example: `pulumi config set --path 'homemail:extraDomains[0]' example.org`,
    },
    alternativeDomains: {
        encoding: "json",
        schema: z.record(z.string(), strList),
        example: `pulumi config set --path 'homemail:alternativeDomains["example.com"][0]' example.net`,
    },
    cloudflareAccountId: {
        encoding: "string",
        schema: str,
        example: "pulumi config set homemail:cloudflareAccountId 0123456789abcdef0123456789abcdef",
    },
    cloudflareZones: {
        encoding: "json",
        schema: z.record(z.string(), str),
        example: `pulumi config set --path 'homemail:cloudflareZones["example.com"]' 0123456789abcdef0123456789abcdef`,
    },
    cloudflareProxiedHosts: {
        encoding: "json",
        schema: strList,
        example: `pulumi config set --path 'homemail:cloudflareProxiedHosts[0]' autoconfig.example.com`,
    },
    mailHost: { encoding: "string", schema: str, example: "pulumi config set homemail:mailHost mail.example.com" },
    extraHostnames: {
        encoding: "json",
        schema: strList,
        example: `pulumi config set --path 'homemail:extraHostnames[0]' webmail.example.com`,
    },
    acmeEmail: { encoding: "string", schema: str, example: "pulumi config set homemail:acmeEmail admin@example.com" },
    adminAddress: {
        encoding: "string",
        schema: str,
        example: "pulumi config set homemail:adminAddress admin@example.com",
    },
    vps: {
        encoding: "json",
        schema: z.object({ publicIp: str, publicIpv6: str.optional(), wanInterface: str.optional(), oneToOneNat: z.boolean().optional(), ...sshFields }).strict(),
        example: `pulumi config set --path homemail:vps.publicIp 203.0.113.10`,
    },
    vpsSshPrivateKey: {
        encoding: "string",
        schema: str,
        secret: "required",
        example: "pulumi config set --secret homemail:vpsSshPrivateKey < ~/.ssh/homemail_vps",
    },
    home: {
        encoding: "json",
        schema: z.object({ lanCidr: str, wanIp: str, ...sshFields }).strict(),
        example: `pulumi config set --path homemail:home.sshHost 192.168.1.10`,
    },
    homeSshPrivateKey: {
        encoding: "string",
        schema: str,
        secret: "required",
        example: "pulumi config set --secret homemail:homeSshPrivateKey < ~/.ssh/homemail_home",
    },
    wireguard: {
        encoding: "json",
        schema: z
            .object({
                network: str.optional(),
                hubAddress: str.optional(),
                spokeAddress: str.optional(),
                port: port.optional(),
                mtu: z.number().int().min(1280).max(1500).optional(),
                keepaliveSeconds: z.number().int().min(0).max(600).optional(),
                endpointHost: str.optional(),
                keyEpoch: z.number().int().min(0).max(1_000_000).optional(),
            })
            .strict(),
        example: `pulumi config set --path homemail:wireguard.network 10.0.1.0/24`,
    },
    mailSubnet: {
        encoding: "string",
        schema: str,
        example: "pulumi config set homemail:mailSubnet 192.168.203.0/24",
    },
    ipv6: {
        encoding: "boolean",
        schema: z.boolean(),
        example: "pulumi config rm homemail:ipv6",
    },
    mailu: {
        encoding: "json",
        schema: z
            .object({
                version: str.optional(),
                dataRoot: str.optional(),
                webmail: z.enum(["snappymail", "roundcube", "none"]).optional(),
                antivirus: z.boolean().optional(),
                webdav: z.boolean().optional(),
                fetchmail: z.boolean().optional(),
                api: z.boolean().optional(),
                authRequireTokens: z.boolean().optional(),
                pruneRemoved: z.boolean().optional(),
                messageSizeLimitBytes: z.number().int().min(1_000_000).optional(),
            })
            .strict(),
        example: `pulumi config set --path homemail:mailu.webmail snappymail`,
    },
    dkimSelector: { encoding: "string", schema: str, example: "pulumi config set homemail:dkimSelector dkim" },
    dmarc: {
        encoding: "json",
        schema: z
            .object({
                policy: dmarcPolicy.optional(),
                subdomainPolicy: dmarcPolicy.optional(),
                reportAddress: str.optional(),
                dkimAlignment: alignment.optional(),
                spfAlignment: alignment.optional(),
            })
            .strict(),
        example: `pulumi config set --path homemail:dmarc.policy quarantine`,
    },
    mtaSts: {
        encoding: "json",
        schema: z
            .object({
                mode: z.enum(["none", "testing", "enforce"]).optional(),
                maxAgeSeconds: z.number().int().min(86400).max(31557600).optional(),
            })
            .strict(),
        example: `pulumi config set --path homemail:mtaSts.mode testing`,
    },
    tlsRptAddress: {
        encoding: "string",
        schema: str,
        example: "pulumi config set homemail:tlsRptAddress admin@example.com",
    },
    users: {
        encoding: "json",
        schema: users,
        example: `pulumi config set --path 'homemail:users[0].address' user@example.com`,
    },
    userPasswords: {
        encoding: "json",
        schema: z.record(z.string(), str),
        secret: "required",
        example: `pulumi config set --secret --path 'homemail:userPasswords["user@example.com"]' '<password>'`,
    },
    aliases: {
        encoding: "json",
        schema: aliases,
        example: `pulumi config set --path 'homemail:aliases[0].address' info@example.com`,
    },
    standardAliases: {
        encoding: "boolean",
        schema: z.boolean(),
        example: "pulumi config set homemail:standardAliases true",
    },
    images: {
        encoding: "json",
        schema: z.object({ traefik: str.optional(), haproxy: str.optional(), nginx: str.optional() }).strict(),
        example: `pulumi config set --path homemail:images.traefik v3.7.16`,
    },
    gateway: {
        encoding: "json",
        schema: z
            .object({ firewall: z.boolean().optional(), existingTraefikDynamicDir: str.optional() })
            .strict(),
        example: `pulumi config set --path homemail:gateway.firewall true`,
    },
    egress: {
        encoding: "json",
        schema: z
            .object({
                enabled: z.boolean().optional(),
                fwmark: z.number().int().min(1).max(0x7fffffff).optional(),
                routeTable: z.number().int().min(1).max(252).optional(),
                rulePriority: z.number().int().min(1).max(32765).optional(),
                stateDir: str.optional(),
            })
            .strict(),
        example: `pulumi config set --path homemail:egress.enabled true`,
    },
} satisfies Record<string, KeySpec>;

export type KeyName = keyof typeof KEYS;

/** The decoded, shape-checked values of every key that was set. */
export type RawValues = { -readonly [K in KeyName]?: z.infer<(typeof KEYS)[K]["schema"]> };

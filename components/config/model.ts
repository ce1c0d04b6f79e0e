/**
 * The validated, immutable description of one homemail deployment.
 *
 * Produced once by `parseModel` (components/config/parse.ts) from the stack config; every renderer
 * and component reads only this. Plain data: no Pulumi types, no secret values (secrets are named
 * by {@link SecretRef} and resolved by the components), defaults resolved, derived values computed.
 */

/** Which VPS process accepts a public port. */
export type VpsProcess = "traefik" | "haproxy";

/**
 * How the VPS treats the bytes of a public port.
 * - `tls-passthrough`: Traefik routes the TLS stream by SNI without terminating it (keys stay home).
 * - `tcp`: forwarded as opaque TCP (server-first SMTP on 25 via HAProxy; ManageSieve on 4190).
 * - `http`: plain HTTP handled by a Traefik HTTP router (ACME http-01 on 80 only).
 */
export type PortMode = "tls-passthrough" | "tcp" | "http";

/** One public port of the mail system: the single source for Traefik, HAProxy, Mailu and DNS SRV. */
export interface PortRow {
    /** Short role name, used for entrypoint/router/service names: `smtp`, `https`, `imaps`, ... */
    readonly name: string;
    /** Public TCP port on the VPS. */
    readonly publicPort: number;
    /** Transport protocol (only TCP is offered). */
    readonly protocol: "tcp";
    /** The VPS process that binds the public port. */
    readonly process: VpsProcess;
    /** How the VPS forwards the stream. */
    readonly mode: PortMode;
    /** True when the VPS prepends a PROXY protocol v2 header towards home (Mailu must expect it). */
    readonly proxyV2: boolean;
    /** Port on the home WireGuard address where Mailu's front listens. */
    readonly homePort: number;
    /** DNS SRV service label that advertises this port (`_imaps._tcp`), if any. */
    readonly srv?: string;
    /** Human description for docs and status output. */
    readonly description: string;
}

/** A mail port deliberately not offered; DNS publishes a "no service" SRV (`0 0 0 .`) for it. */
export interface NotOfferedPort {
    readonly name: string;
    readonly port: number;
    /** SRV label announcing that the service is absent (`_submission._tcp`), if any. */
    readonly srv?: string;
    /** Why it is not offered. */
    readonly reason: string;
}

/** Every address the deployment uses, in one place; overlaps are rejected at parse time. */
export interface AddressPlan {
    /** VPS public IPv4 (MX A record, SNAT source, PTR). */
    readonly vpsPublicIp: string;
    /**
     * The VPS's global IPv6, when it has one (`homemail:vps.publicIpv6`): only an allowed source of
     * the ACME token (lego prefers IPv6 when it reaches Cloudflare); nothing listens on it.
     */
    readonly vpsPublicIpv6?: string;
    /** VPS interface facing the Internet (SNAT/forward rules). */
    readonly vpsWanInterface: string;
    /**
     * The provider maps the public IP 1:1 onto the VPS (`homemail:vps.oneToOneNat`): the IP is on no
     * interface, so mail is SNATed to the WAN interface's own address instead of to `vpsPublicIp`.
     */
    readonly vpsOneToOneNat: boolean;
    /** Home's public IPv4 as seen from the Internet (used only by checks: it must NOT send mail; no DNS record or SPF mechanism may contain it). */
    readonly homeWanIp: string;
    /** Home LAN CIDR (never routed into the tunnel). */
    readonly homeLan: string;
    /** WireGuard network CIDR. */
    readonly wgNetwork: string;
    /** Prefix length of the WireGuard network. */
    readonly wgPrefixLength: number;
    /** Hub (VPS) address inside the WireGuard network. */
    readonly wgHub: string;
    /** Spoke (home) address inside the WireGuard network; Mailu's front publishes here only. */
    readonly wgSpoke: string;
    /** UDP port the hub listens on. */
    readonly wgPort: number;
    /** MTU of wg0 on both ends. */
    readonly wgMtu: number;
    /** PersistentKeepalive (seconds) from the spoke. */
    readonly wgKeepalive: number;
    /** Endpoint host the spoke dials (defaults to the VPS public IP). */
    readonly wgEndpointHost: string;
    /** Mailu's Docker network CIDR (IPv4 only). */
    readonly mailuSubnet: string;
    /** Bridge interface name of the Mailu network (`br-mailu`), set through compose driver_opts. */
    readonly mailuBridge: string;
    /** Docker's gateway address on the Mailu bridge (first host address). */
    readonly mailuGateway: string;
    /** Mailu's unbound resolver: second-to-last address of the subnet. */
    readonly mailuResolver: string;
    /** Every source address the gateway connects to home from (Mailu REAL_IP_FROM). */
    readonly gatewaySourceAddresses: readonly string[];
    /** Loopback address:port the WKD/MTA-STS nginx listens on, on the VPS. */
    readonly wkdListen: { readonly address: string; readonly port: number };
}

/** SSH access to a host. */
export interface SshTarget {
    /** Host name or IP that Pulumi connects to. */
    readonly host: string;
    /** SSH port. */
    readonly port: number;
    /** Login user (must be root or have passwordless sudo; commands run as that user). */
    readonly user: string;
    /** Config key of the private key secret, or undefined to use the local ssh-agent. */
    readonly privateKey?: SecretRef;
    /**
     * The host's SSH public key, `<type> <base64>` (`homemail:<host>.sshHostKey`): every connection
     * checks it. Unset only on example/lab stacks (`exampleAddresses`).
     */
    readonly hostKey?: string;
}

/** Names a secret held in Pulumi config; the value never enters the model. */
export interface SecretRef {
    /** Full config key, e.g. `homemail:vpsSshPrivateKey`. */
    readonly configKey: string;
    /** Path inside an object-valued secret (e.g. the user address in `homemail:userPasswords`). */
    readonly path?: string;
}

/** A mail domain served by this deployment. */
export interface MailDomain {
    /** The domain, lowercase, no trailing dot. */
    readonly name: string;
    /** `primary` (Mailu's DOMAIN), `extra` (another full domain), or `alternative` (alias domain). */
    readonly kind: "primary" | "extra" | "alternative";
    /** For alternative domains: the domain it is an alternative of (whose DKIM key signs it). */
    readonly alternativeOf?: string;
    /** Cloudflare zone (name) this domain's records live in. */
    readonly zone: string;
    /** `autoconfig.<domain>` */
    readonly autoconfigHost: string;
    /** `autodiscover.<domain>` */
    readonly autodiscoverHost: string;
    /** `mta-sts.<domain>` */
    readonly mtaStsHost: string;
    /** `openpgpkey.<domain>` (WKD advanced method) */
    readonly openpgpkeyHost: string;
}

/** A web host the VPS publishes (an A record to the VPS), other than the mail host. */
export interface WebHost {
    /** `autoconfig.<domain>`, `autodiscover.<domain>`, `mta-sts.<domain>`, `openpgpkey.<domain>` or an extra hostname. */
    readonly name: string;
    /** Orange cloud: only pure web hosts listed in `cloudflareProxiedHosts`. */
    readonly proxied: boolean;
}

/** A Cloudflare zone managed by this stack. */
export interface Zone {
    /** Zone name, e.g. `example.com`. */
    readonly name: string;
    /** Cloudflare zone id (32 hex). */
    readonly id: string;
}

/** A mailbox user. */
export interface MailUser {
    /** Address, lowercase. */
    readonly address: string;
    readonly localPart: string;
    readonly domain: string;
    /** Display name, if configured. */
    readonly displayName?: string;
    /** True for the one global admin (`homemail:adminAddress`). */
    readonly globalAdmin: boolean;
    /** Quota in bytes (Mailu `quota_bytes`); undefined = Mailu's default. */
    readonly quotaBytes?: number;
    /** Armored OpenPGP public key for WKD, if configured (public data, not a secret). */
    readonly openpgpPublicKey?: string;
    /** Password source: a config secret, or generated by @pulumi/random. */
    readonly password: { readonly source: "config"; readonly ref: SecretRef } | { readonly source: "random" };
}

/**
 * One address the Web Key Directory serves an OpenPGP key for, derived at parse time from the users'
 * `openpgpPublicKey` (components/config/openpgp.ts). Public data.
 */
export interface WkdPublication {
    /** Address, lowercase. */
    readonly address: string;
    readonly localPart: string;
    readonly domain: string;
    /** Primary key fingerprint, upper-case hex. */
    readonly fingerprint: string;
    /** The user IDs kept in the published key (those for this address). */
    readonly userIds: readonly string[];
    /** Config key the key came from: `homemail:users[1].openpgpPublicKey`. */
    readonly configKey: string;
    /** The minimal binary key served at the address's WKD URL, base64. */
    readonly keyBase64: string;
}

/** A forwarding alias. */
export interface MailAlias {
    /** Address, lowercase. */
    readonly address: string;
    readonly localPart: string;
    readonly domain: string;
    /** Destination addresses, lowercase, in config order. */
    readonly destinations: readonly string[];
    /** True when added by `homemail:standardAliases` rather than written in `homemail:aliases`. */
    readonly standard: boolean;
}

export type DmarcPolicy = "none" | "quarantine" | "reject";
export type Alignment = "relaxed" | "strict";
export type MtaStsMode = "none" | "testing" | "enforce";
export type Webmail = "snappymail" | "roundcube" | "none";

/** Pinned container images (tag; the digest is recorded at deploy time). */
export interface ImagePins {
    readonly traefik: string;
    readonly haproxy: string;
    readonly nginx: string;
    /** Mailu release, pinned to a patch release (e.g. `2024.06.37`). */
    readonly mailu: string;
    /** Registry namespace of Mailu images (`ghcr.io/mailu`). */
    readonly mailuRegistry: string;
    /** Redis image Mailu uses (`redis:7.4-alpine`; the digest is recorded at deploy time). */
    readonly mailuRedis: string;
    /** ClamAV image of Mailu's optional antivirus (`clamav/clamav-debian:1.4`). */
    readonly mailuAntivirus: string;
}

export interface Model {
    /** Pulumi project and stack names (for naming and docs). */
    readonly project: string;
    readonly stack: string;
    /** True when documentation/TEST-NET addresses are allowed (example and lab stacks). */
    readonly exampleAddresses: boolean;

    readonly cloudflare: {
        readonly accountId: string;
        /** Zones sorted by name. */
        readonly zones: readonly Zone[];
        /** Hostnames that Cloudflare may proxy (orange cloud): pure web hosts only. */
        readonly proxiedHosts: readonly string[];
        /**
         * The zone of every hostname homemail publishes records under (domains, mail host, web hosts,
         * extra hostnames, report domains in our zones). A record `_x.<host>` lives in the zone of `<host>`.
         */
        readonly zoneOfName: Readonly<Record<string, string>>;
    };

    /** Primary domain first, then extra domains, then alternative domains; each sorted by name. */
    readonly domains: readonly MailDomain[];
    /** The primary and extra domains (those that hold accounts and DKIM keys), in {@link domains} order. */
    readonly mainDomains: readonly string[];
    /** Mail host (MX target, PTR name, Mailu HOSTNAMES[0]). */
    readonly mailHost: string;
    /** Extra public hostnames served by Mailu (Mailu HOSTNAMES after the mail host). */
    readonly extraHostnames: readonly string[];
    /** Every web host published through the VPS except the mail host, sorted by name. */
    readonly webHosts: readonly WebHost[];
    /** Every hostname routed through the gateway's TLS passthrough on 443 (sorted, mail host first). */
    readonly passthroughHosts: readonly string[];

    readonly acmeEmail: string;
    readonly adminAddress: string;

    readonly vps: { readonly ssh: SshTarget };
    readonly home: { readonly ssh: SshTarget };
    readonly addresses: AddressPlan;

    /** The one public port table (sorted by public port). */
    readonly ports: readonly PortRow[];
    /** Mail ports deliberately closed. */
    readonly notOffered: readonly NotOfferedPort[];
    /** Public ports sent PROXY v2 (sorted): derived from {@link ports}, defined nowhere else. */
    readonly proxyV2Ports: readonly number[];

    readonly mailu: {
        readonly version: string;
        /** Host directory holding all Mailu data. */
        readonly dataRoot: string;
        readonly webmail: Webmail;
        readonly antivirus: boolean;
        readonly webdav: boolean;
        readonly fetchmail: boolean;
        readonly api: boolean;
        readonly authRequireTokens: boolean;
        /** Delete users/aliases that exist in Mailu but are no longer in config (default: only report). */
        readonly pruneRemoved: boolean;
        /** Message size limit in bytes (Mailu MESSAGE_SIZE_LIMIT). */
        readonly messageSizeLimit: number;
    };

    readonly dkim: { readonly selector: string };
    readonly dmarc: {
        readonly policy: DmarcPolicy;
        readonly subdomainPolicy: DmarcPolicy;
        readonly reportAddress: string;
        readonly dkimAlignment: Alignment;
        readonly spfAlignment: Alignment;
    };
    readonly mtaSts: { readonly mode: MtaStsMode; readonly maxAgeSeconds: number };
    /** TLS-RPT reports go here (`_smtp._tls` rua). */
    readonly tlsRptAddress: string;

    readonly users: readonly MailUser[];
    readonly aliases: readonly MailAlias[];

    /** OpenPGP Web Key Directory: every address with a published key, sorted by address. */
    readonly wkd: { readonly publications: readonly WkdPublication[] };

    readonly images: ImagePins;

    readonly gateway: {
        /** Deploy the VPS host firewall. */
        readonly firewall: boolean;
        /** When set, an existing Traefik is used: homemail only writes its dynamic file here. */
        readonly existingTraefikDynamicDir?: string;
    };

    readonly wireguard: {
        /** `homemail:wireguard.keyEpoch`: a host keeps its key while this stays, and makes a new one when it changes. */
        readonly keyEpoch: number;
    };

    readonly egress: {
        /** Route Mailu's outbound tcp/25 through the VPS. */
        readonly enabled: boolean;
        /** fwmark for marked SMTP packets (hex string as `ip rule` prints it is derived). */
        readonly fwmark: number;
        /** Policy routing table number. */
        readonly routeTable: number;
        /** Priority of the `ip rule`. */
        readonly rulePriority: number;
        /** Where enable records what it changed (survives reboots, unlike /run). */
        readonly stateDir: string;
    };
}

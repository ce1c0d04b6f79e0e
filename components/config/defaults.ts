/**
 * Defaults, each with where it comes from. Changing one changes every stack that did not set the key,
 * so each is a deliberate choice.
 */
export const DEFAULTS = Object.freeze({
    vpsWanInterface: "eth0",
    /** OpenSSH's port and the usual login of a fresh VPS image (any other user needs passwordless sudo). */
    sshPort: 22,
    sshUser: "root",
    /** The blog post's WireGuard plan: hub .1, spoke .2, wg-quick's usual port and MTU. */
    wgNetwork: "10.0.1.0/24",
    /** Hub and spoke: the first and second host address of the WireGuard network. */
    wgHubIndex: 1,
    wgSpokeIndex: 2,
    wgPort: 51820,
    /** 1420 = 1500 - 80 (IPv6 outer header worst case), wg-quick's own default. */
    wgMtu: 1420,
    /** Keeps the home NAT mapping alive so the hub can reach the spoke (WireGuard docs suggest 25). */
    wgKeepalive: 25,
    /** Key epoch: keys are made once and kept until the user raises it (then each host makes a new one). */
    wgKeyEpoch: 0,
    /** Mailu setup utility's default subnet. */
    mailSubnet: "192.168.203.0/24",
    /** Named so host firewall rules can match it (compose driver_opts com.docker.network.bridge.name). */
    mailuBridge: "br-mailu",
    /**
     * Mailu 2024.06 patch release. 2024.06.61 is the newest tag found (an evaluation of 2026-10-03 read
     * `ghcr.io/mailu/{nginx,admin,dovecot,postfix,rspamd,unbound,webmail}:2024.06.61`); it includes the
     * fixes of 2024.06.55 (CVE-2026-85751, proxy-auth header spoofing) and 2024.06.59 (three advisories
     * of 2026-09-23). Earlier default: 2024.06.57, seen in published deployments.
     */
    mailuVersion: "2024.06.61",
    mailuRegistry: "ghcr.io/mailu",
    /** Mailu's setup utility writes an unpinned `redis:alpine`; homemail pins a release line (digest at deploy). */
    mailuRedisImage: "redis:7.4-alpine",
    /** Mailu 2024.06's antivirus is upstream ClamAV's Debian image; 1.4 is ClamAV's LTS line. */
    mailuAntivirusImage: "clamav/clamav-debian:1.4",
    mailuDataRoot: "/srv/mailu",
    /** Mailu's setup utility's default webmail; the optional services stay off until asked for. */
    mailuWebmail: "snappymail" as const,
    mailuAntivirus: false,
    mailuWebdav: false,
    mailuFetchmail: false,
    mailuApi: false,
    mailuAuthRequireTokens: false,
    /** Only report accounts removed from the config: deleting a mailbox is never a default. */
    mailuPruneRemoved: false,
    /** Mailu's default MESSAGE_SIZE_LIMIT (50 MB). */
    messageSizeLimit: 50_000_000,
    /** Mailu's default DKIM_SELECTOR. */
    dkimSelector: "dkim",
    /**
     * quarantine: only Mailu sends for these domains and it signs everything, so failures are
     * forgeries; quarantine (not reject) keeps a misconfiguration from bouncing real mail.
     */
    dmarcPolicy: "quarantine" as const,
    /**
     * strict (adkim=s, aspf=s): Mailu signs with d=<From domain> (alternative domains included) and
     * sends with MAIL FROM = the sender's own address; bounces use the mail host as HELO, which has
     * its own SPF record. So legitimate mail aligns exactly, and strict denies a look-alike subdomain
     * the alignment that relaxed would give it.
     */
    dmarcAlignment: "strict" as const,
    /** One week: RFC 8461 suggests weeks; short enough to recover from a bad policy. */
    mtaStsMaxAge: 604800,
    /** RFC 8461 5: start in testing, read the TLS-RPT reports, then enforce. */
    mtaStsMode: "testing" as const,
    /** RFC 2142 role aliases on by default: receivers and registrars expect postmaster and abuse. */
    standardAliases: true,
    /** The VPS host firewall and the SMTP egress route are the design, so both are on unless switched off. */
    gatewayFirewall: true,
    egressEnabled: true,
    /** RFC 2142 role addresses plus postmaster (RFC 5321). */
    standardAliasLocalParts: ["abuse", "hostmaster", "noc", "postmaster", "security", "webmaster"] as const,
    images: {
        /**
         * Newest Traefik v3 line confirmed: v3.7.16, the default of the official Traefik Helm chart
         * v42.1.2 (released 2026-10-21; "Traefik Proxy: v3.6.0 -> v3.7.16 (default)"). Before: v3.6.21
         * (Traefik Hub v3.19.10). Never v3.5.2 (wrong PROXY protocol addresses).
         */
        traefik: "v3.7.16",
        /**
         * HAProxy 3.2 LTS, newest confirmed patch: 3.2.19 (haproxy.org/download/3.2/src, 2026-05-11).
         * The blog post runs 3.2.7.
         */
        haproxy: "3.2.19",
        /** nginx mainline 1.29 (the blog post runs 1.29.3). */
        nginx: "1.29.3",
    },
    /** WKD/MTA-STS nginx listens here on the VPS; only Traefik reaches it. */
    wkdListen: { address: "127.0.0.1", port: 8088 },
    /** fwmark 0x19 = 25, table 100, priority 10025: the blog post's values. */
    egressFwmark: 0x19,
    egressRouteTable: 100,
    egressRulePriority: 10025,
    /** Not /run: state must survive reboots so `disable` can still restore what `enable` found. */
    egressStateDir: "/var/lib/homemail/smtp-egress",
});

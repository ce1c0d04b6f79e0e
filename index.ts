/**
 * homemail: the whole mail system in one Pulumi program. The config is read and validated once
 * (nothing is registered when it is invalid); components get the model and each other's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { loadModel } from "./components/config/load";
import { AcmeDnsToken } from "./components/AcmeDnsToken";
import { createDnsZones } from "./components/DnsZone";
import { HomeMailServer } from "./components/HomeMailServer";
import { nextSteps as manualSteps, ptrStep, renderDnsRecords, txtRecords } from "./components/render/dns";
import { VpsGateway } from "./components/VpsGateway";
import { WireguardLink } from "./components/WireguardLink";
import { WkdSite } from "./components/WkdSite";

const model = loadModel();

// Data flows DNS -> WireGuard -> gateway -> WKD -> Mailu; each block exports its stack outputs.

// ---- DNS: one DnsZone per Cloudflare zone; the ACME dns-01 token for the gateway ----
/** The zones, and the DKIM private keys (secret PEM, by main domain) for HomeMailServer. */
const dns = createDnsZones(model);
/** The ACME dns-01 token (secret), for VpsGateway's `cf_dns_api_token`. */
const acmeDnsToken = new AcmeDnsToken("acme-dns", { model });

const dnsRecords = renderDnsRecords(model);
/** DKIM TXT record per mail domain (alternative domains publish their parent's key). */
export const dkim = pulumi.all(dns.zones.map((z) => z.dkim)).apply((lists) => lists.flat().sort((a, b) => a.domain.localeCompare(b.domain)));
/** DMARC TXT record per mail domain. */
export const dmarc = txtRecords(dnsRecords, "dmarc");
/** SPF TXT record per mail domain and for the mail host (HELO name). */
export const spf = txtRecords(dnsRecords, "spf");
/** The DS record each zone's registrar must publish (DNSSEC). */
export const registrarDs = pulumi.all(dns.zones.map((z) => z.registrarDs));
/** The PTR the VPS provider must set. */
export const ptr = ptrStep(model);
/** The ACME dns-01 token: what it may do and from where (the value itself goes only to the VPS). */
export const acmeToken = { id: acmeDnsToken.tokenId, ...acmeDnsToken.summary };
/** What remains to be done by hand, with exact values. */
export const nextSteps = registrarDs.apply((ds) => manualSteps(model, ds));

// ---- WireGuard ----
/** WireGuard hub (VPS) and spoke (home), and Mailu's SMTP egress through the hub. */
const wireguard = new WireguardLink("wg", {
    model: { addresses: model.addresses, egress: model.egress },
    hubSsh: model.vps.ssh,
    spokeSsh: model.home.ssh,
    keyEpoch: model.wireguard.keyEpoch,
});
/** WireGuard public keys as the hosts reported them (the private keys never left the hosts). */
export const wireguardPublicKeys = { hub: wireguard.hubPublicKey, spoke: wireguard.spokePublicKey };

// ---- gateway: Traefik (TLS passthrough + PROXY v2), HAProxy for :25, WKD nginx, host firewall ----
const gateway = new VpsGateway("gateway", {
    model,
    cfDnsApiToken: acmeDnsToken.token,
});

// ---- WKD + MTA-STS site ----
/**
 * OpenPGP Web Key Directory + MTA-STS policy site on the VPS, served by the gateway's nginx: its
 * config check runs that pinned image, after the gateway's preflight and pull.
 */
const wkd = new WkdSite("wkd", { model, ssh: model.vps.ssh, gatewayImage: gateway.nginxImage });
/** Each gateway image as it runs: `repository:tag@sha256:<digest pulled at deploy>`. */
export const gatewayImages = gateway.images;
/** Traefik entrypoints of homemail's routes (an existing Traefik must define the same). */
export const gatewayEntrypoints = gateway.entrypoints;
/** With homemail:gateway.existingTraefikDynamicDir: what the existing Traefik must provide. */
export const gatewayExistingTraefik = gateway.existingTraefik ?? null;

// ---- mail server: Mailu 2024.06 at home ----
// Mailu starts after the tunnel, the gateway and DNS: its certificate comes by http-01 through the VPS.
const mail = new HomeMailServer("mailu", {
    model,
    ssh: model.home.ssh,
    dkimPrivateKeys: dns.dkimPrivateKeys,
    startAfter: [wireguard, gateway, wkd, ...dns.zones],
});
/** Every mailbox's password (address -> password); read with `pulumi stack output --show-secrets`. */
export const mailUserPasswords = mail.userPasswords;
export const mailAdminUrl = mail.adminUrl;
export const webmailUrl = mail.webmailUrl;
/** Mailu's images as deployed (ref@digest). */
export const mailuImages = mail.images;
/** Accounts Mailu has beyond the stack config (kept, or deleted when homemail:mailu.pruneRemoved). */
export const mailAccountsReport = mail.accountsReport;
/** Mailu's REST API token (secret), when homemail:mailu.api is on. */
export const mailApiToken = mail.apiToken;

/** The public port table: what the VPS accepts, how, and where it goes at home. */
export const portTable = model.ports.map((p) => ({
    port: p.publicPort,
    protocol: p.protocol,
    process: p.process,
    mode: p.mode,
    proxyV2: p.proxyV2,
    homePort: p.homePort,
    description: p.description,
}));
/** Mail ports deliberately closed, and why. */
export const notOffered = model.notOffered.map((p) => ({ port: p.port, reason: p.reason }));
/** Every address of the deployment. */
export const addressPlan = model.addresses;
export const mailHost = model.mailHost;
export const mailDomains = model.domains.map((d) => ({ domain: d.name, kind: d.kind, zone: d.zone, alternativeOf: d.alternativeOf }));

/** Every address whose OpenPGP key is published by WKD: fingerprint and the URL senders fetch. */
export const wkdKeys = wkd.keys;
/** What the gateway's Traefik routes to the WKD/MTA-STS site: hosts and loopback backend. */
export const wkdRoutes = wkd.routes;

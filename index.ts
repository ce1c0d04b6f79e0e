/**
 * homemail: the whole mail system in one Pulumi program. The config is read and validated once
 * (nothing is registered when it is invalid); components get the model and each other's outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { loadModel } from "./components/config/load";
import { HomeMailServer } from "./components/HomeMailServer";
import { VpsGateway } from "./components/VpsGateway";
import { WireguardLink } from "./components/WireguardLink";
import { WkdSite } from "./components/WkdSite";

const model = loadModel();

// Components are added here by their issues: DnsZone, WireguardLink, VpsGateway, WkdSite, HomeMailServer.

/** WireGuard hub (VPS) and spoke (home), and Mailu's SMTP egress through the hub. */
const wireguard = new WireguardLink("wg", {
    model: { addresses: model.addresses, egress: model.egress },
    hubSsh: model.vps.ssh,
    spokeSsh: model.home.ssh,
});
/** WireGuard public keys as the hosts reported them (the private keys never left the hosts). */
export const wireguardPublicKeys = { hub: wireguard.hubPublicKey, spoke: wireguard.spokePublicKey };

/** OpenPGP Web Key Directory + MTA-STS policy site on the VPS (routes and compose service for the gateway). */
const wkd = new WkdSite("wkd", { model, ssh: model.vps.ssh });

// ---- gateway: Traefik (TLS passthrough + PROXY v2), HAProxy for :25, WKD nginx, host firewall ----
// MERGE: replace this stand-in with the DNS block's ACME dns-01 token (a secret Output) and drop it.
const acmeDnsTokenStandIn = pulumi.secret("MERGE-STAND-IN-for-the-DNS-block-acme-dns-01-token");
const gateway = new VpsGateway("gateway", {
    model,
    cfDnsApiToken: acmeDnsTokenStandIn,
});
/** Each gateway image as it runs: `repository:tag@sha256:<digest pulled at deploy>`. */
export const gatewayImages = gateway.images;
/** Traefik entrypoints of homemail's routes (an existing Traefik must define the same). */
export const gatewayEntrypoints = gateway.entrypoints;
/** With homemail:gateway.existingTraefikDynamicDir: what the existing Traefik must provide. */
export const gatewayExistingTraefik = gateway.existingTraefik ?? null;

// ---- mail server: Mailu 2024.06 at home ----
// MERGE: replace these stand-in keys with the DNS block's `dns.dkimPrivateKeys` (DnsZone makes the DKIM
// keys and publishes their public halves); until then each main domain gets a key that DNS does not know.
const dkimKeysStandIn = Object.fromEntries(
    model.domains
        .filter((d) => d.kind !== "alternative")
        .map((d) => [d.name, new tls.PrivateKey(`dkim-standin-${d.name}`, { algorithm: "RSA", rsaBits: 2048 }).privateKeyPem]),
);
const mail = new HomeMailServer("mailu", { model, ssh: model.home.ssh, dkimPrivateKeys: dkimKeysStandIn });
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

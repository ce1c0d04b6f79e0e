/**
 * homemail: the whole mail system in one Pulumi program. The config is read and validated once
 * (nothing is registered when it is invalid); components get the model and each other's outputs.
 */
import * as tls from "@pulumi/tls";
import { loadModel } from "./components/config/load";
import { HomeMailServer } from "./components/HomeMailServer";

const model = loadModel();

// Components are added here by their issues: DnsZone, WireguardLink, VpsGateway, WkdSite, HomeMailServer.

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

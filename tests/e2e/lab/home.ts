/**
 * The home server of the lab: every rendered home file installed at its path, the WireGuard spoke
 * up, the SMTP egress enabled as the deploy does, and Mailu's Docker network with, in place of
 * Mailu (which cannot run here), one container holding a real Postfix:
 * - published like Mailu's front (Docker's DNAT from the WireGuard address), expecting a PROXY v2
 *   header on exactly the ports the rendered mailu.env lists in PROXY_PROTOCOL;
 * - delivering to the mailboxes of the stack config, and signing what it sends with the DKIM key
 *   the program publishes (the render's fixture key) under the names of the `dkim` stack output;
 * - answering, as every service of the rendered compose project, the docker commands the doctor
 *   runs there, through a stand-in `docker` CLI (dockerStandIn.ts).
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { Model } from "../../../components/config";
import { HOME_FIREWALL_SCRIPT_PATH } from "../../../components/render/homeFirewall";
import { renderMailuImport } from "../../../components/render/mailu";
import { emptyMailu, importAsHomemail, routing } from "../../helpers/mailuAdmin";
import { REPO_ROOT } from "../../helpers/stack";
import { Host, Lab } from "../../lab/harness";
import { dockerBridge } from "./docker";
import { installDockerStandIn } from "./dockerStandIn";
import { connectSite, Internet, useResolver } from "./internet";
import { frontPublishedPorts, mailuHostname, proxyProtocolPorts } from "./mailuRender";
import { SigningKey, startDkimSigner } from "./milters";
import { Postfix } from "./postfix";
import { RenderedStack } from "./rendered";
import { EGRESS_SCRIPT } from "./vps";
import { installFixtureKey, Wireguard } from "./wireguard";

const SMTP_PORT = 25;
/** The DKIM private key the mock engine hands out as @pulumi/tls's key (what Mailu receives). */
const FIXTURE_DKIM_KEY = path.join(REPO_ROOT, "tests", "fixtures", "dkim", "test-only-dkim.key");

export interface Home {
    readonly host: Host;
    /** The container standing in for Mailu (front and smtp in one). */
    readonly container: Host;
    readonly containerAddress: string;
    readonly standIn: Postfix;
}

export function buildHome(lab: Lab, internet: Internet, rendered: RenderedStack, model: Model, wireguard: Wireguard): Home {
    const a = model.addresses;
    const host = lab.host("home");
    connectSite(lab, internet, host, a.homeWanIp);
    useResolver(host, internet.dnsAddress);
    rendered.installAll("home", host);
    installFixtureKey(host, "spoke");

    const container = lab.host("smtp");
    useResolver(container, internet.dnsAddress);
    const containerAddress = addToAddress(a.mailuGateway, 9);
    const prefixLength = Number(a.mailuSubnet.split("/")[1]);
    dockerBridge(lab, host, { bridge: a.mailuBridge, subnet: a.mailuSubnet, gateway: a.mailuGateway, prefixLength }, container, containerAddress, frontPublishedPorts(rendered));

    // What the deploy's wg-spoke-* and mailu-firewall steps run, minus systemctl: every mail test
    // below passes through the home firewall.
    wireguard.up(host);
    host.run([EGRESS_SCRIPT, "enable"], { timeoutMs: 60_000 });
    host.run([HOME_FIREWALL_SCRIPT_PATH, "enable"], { timeoutMs: 60_000 });

    const mailu = routing(importAsHomemail(emptyMailu(), renderMailuImport(model).content));
    const signer = startDkimSigner(container, path.join(lab.dir, "smtp-opendkim"), signingKeys(rendered), 8891);
    const standIn = new Postfix(lab, container, path.join(lab.dir, "postfix-mailu"), {
        hostname: mailuHostname(rendered),
        listen: containerAddress,
        // What Mailu holds after the deploy's import of the rendered YAML (Mailu's merge rules).
        mailboxes: mailu.mailboxes,
        aliases: mailu.aliases,
        smtpdOverrides: proxyProtocolPorts(rendered).includes(SMTP_PORT) ? { smtpd_upstream_proxy_protocol: "haproxy" } : {},
        main: { non_smtpd_milters: signer, milter_default_action: "tempfail" },
    });
    standIn.start();
    installDockerStandIn(host, container, standIn, rendered);
    return { host, container, containerAddress, standIn };
}

/** One signing key per published DKIM record (stack output `dkim`: domain, record name). */
function signingKeys(rendered: RenderedStack): SigningKey[] {
    const published = rendered.outputs().dkim as { domain: string; name: string }[] | undefined;
    if (!published?.length) throw new Error("the render's outputs.json has no `dkim` records (expected from DnsZone)");
    const privateKeyPem = readFileSync(FIXTURE_DKIM_KEY, "utf8");
    return published.map((r) => ({ domain: r.domain, selector: r.name.slice(0, r.name.indexOf("._domainkey.")), privateKeyPem }));
}

/** `address` + n, as IPv4. */
function addToAddress(address: string, n: number): string {
    const value = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0) + n;
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

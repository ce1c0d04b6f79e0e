/**
 * Each per-area validator of components/config/validate/ on its own (pulumi-awsx's
 * `describe("validateEips")` style): what it returns for the dev stack, and the one problem line a
 * single wrong value gives, on the key the user set.
 */
import { decode, fieldsAt } from "../../components/config/decode";
import { ProblemList } from "../../components/config/errors";
import { KEYS } from "../../components/config/keys";
import { parseCidr, Cidr } from "../../components/config/net";
import { didYouMean } from "../../components/config/suggest";
import { validateNetworks, validateOverlaps, validateWireguardHosts } from "../../components/config/validate/addresses";
import { validateDnsPolicy } from "../../components/config/validate/dns";
import { validateDomains, validateHostnames, validateZones, zoneOfName } from "../../components/config/validate/domains";
import { validateEgress } from "../../components/config/validate/egress";
import { validateGateway, validateImages } from "../../components/config/validate/gateway";
import { validateMailu } from "../../components/config/validate/mailu";
import { hostDirectory } from "../../components/config/validate/paths";
import { validateSsh } from "../../components/config/validate/ssh";
import { checkText } from "../../components/config/validate/text";
import { validateAliases, validateReportAddresses, validateUsers } from "../../components/config/validate/users";
import { validateWkd } from "../../components/config/validate/wkd";
import { ctxWith, problemKeys } from "../helpers/configContext";
import { devValue } from "../helpers/stack";

const ZONE = "0123456789abcdef0123456789abcdef";
const cidr = (t: string) => parseCidr(t) as Cidr;

describe("didYouMean", () => {
    it("suggests the nearest names within a typo's distance, case-insensitively", () => {
        expect(didYouMean("mailSubent", Object.keys(KEYS))).toEqual(["mailSubnet"]);
        expect(didYouMean("PRIMARYDOMAIN", Object.keys(KEYS))).toEqual(["primaryDomain"]);
        expect(didYouMean("colour", Object.keys(KEYS))).toEqual([]);
    });
    it("allows one edit for short names only", () => {
        expect(didYouMean("mtx", ["mtu"])).toEqual(["mtu"]);
        expect(didYouMean("mxx", ["mtu"])).toEqual([]);
    });
});

describe("fieldsAt", () => {
    it("finds the fields of nested object schemas through lists and optionals", () => {
        expect(fieldsAt(KEYS.vps.schema, [])).toEqual(expect.arrayContaining(["publicIp", "sshHost"]));
        expect(fieldsAt(KEYS.users.schema, [0])).toEqual(["address", "displayName", "quotaBytes", "openpgpPublicKey"]);
        expect(fieldsAt(KEYS.mailSubnet.schema, [])).toEqual([]);
    });
});

describe("decode", () => {
    it("refuses a namespace this program does not read, suggesting the nearest", () => {
        const problems = new ProblemList();
        decode({ "homemial:dmarc": "{}", "cloudflare:apiToken": "x", "docker:host": "ssh://x" }, ["cloudflare:apiToken"], problems);
        expect(problems.all).toEqual([expect.objectContaining({ key: "homemial:dmarc", fix: "did you mean homemail:dmarc?" })]);
    });
    it("says 'quote it' for a number where text belongs, and marks the key present (no false 'required')", () => {
        const problems = new ProblemList();
        const { raw, present } = decode({ "homemail:cloudflareZones": JSON.stringify({ "example.com": 123 }) }, [], problems);
        expect(problems.all.map((p) => p.fix)).toEqual([expect.stringContaining("quote the value")]);
        expect(raw.cloudflareZones).toBeUndefined();
        expect(present.has("cloudflareZones")).toBe(true);
    });
});

describe("checkText", () => {
    const run = (path: string, text: string, secret = false) => {
        const problems = new ProblemList();
        checkText(problems, `homemail:${path}`, path, text, secret);
        return problems.all;
    };
    it("lets plain text and multi-line armored keys through", () => {
        expect(run("users[0].displayName", "Zoë O'Brien")).toEqual([]);
        expect(run("users[0].openpgpPublicKey", "-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n\r\nAA==\n")).toEqual([]);
    });
    it("refuses the placeholder syntax, controls, noncharacters and overlong values; never echoes a secret", () => {
        expect(run("mailHost", "@@HOMEMAIL_SECRET(x)@@")[0].problem).toContain("placeholder");
        expect(run("mailHost", "a\nb")[0].problem).toContain("U+000A");
        expect(run("userPasswords", "pw\uFFFEpw", true)[0].problem).not.toContain("pw");
        expect(run("users[0].displayName", "x".repeat(161))[0].problem).toContain("160");
    });
});

describe("validateZones", () => {
    it("returns the zones sorted, names lowercased", () => {
        const ctx = ctxWith([{ key: "homemail:cloudflareZones", value: { "Example.ORG": ZONE, "example.com": ZONE } }]);
        expect(validateZones(ctx).map((z) => z.name)).toEqual(["example.com", "example.org"]);
        expect(problemKeys(ctx)).toEqual([]);
    });
    it("refuses two names of one zone differing only in case", () => {
        const ctx = ctxWith([{ key: "homemail:cloudflareZones", value: { "example.com": ZONE, "EXAMPLE.com": ZONE } }]);
        expect(validateZones(ctx)).toHaveLength(1);
        expect(problemKeys(ctx)).toEqual(['homemail:cloudflareZones["EXAMPLE.com"]']);
    });
    it("zoneOfName picks the longest zone holding the name", () => {
        const zones = [{ name: "example.com", id: ZONE }, { name: "sub.example.com", id: ZONE }];
        expect(zoneOfName(zones, "a.sub.example.com")).toBe("sub.example.com");
        expect(zoneOfName(zones, "example.com")).toBe("example.com");
        expect(zoneOfName(zones, "example.org")).toBeUndefined();
    });
});

describe("validateDomains", () => {
    it("orders primary, extra, alternative and records each domain's zone", () => {
        const ctx = ctxWith([{ key: "homemail:extraDomains", value: ["b.example.com"] }, { key: "homemail:alternativeDomains", value: { "example.com": ["a.example.com"] } }]);
        const domains = validateDomains(ctx, validateZones(ctx));
        expect(domains.map((d) => [d.name, d.kind, d.zone])).toEqual([["example.com", "primary", "example.com"], ["b.example.com", "extra", "example.com"], ["a.example.com", "alternative", "example.com"]]);
    });
    it("refuses a domain listed twice at the second place", () => {
        const ctx = ctxWith([{ key: "homemail:extraDomains", value: ["EXAMPLE.com"] }]);
        validateDomains(ctx, validateZones(ctx));
        expect(problemKeys(ctx)).toEqual(["homemail:extraDomains[0]"]);
    });
});

describe("validateHostnames", () => {
    const hostsOf = (changes: Parameters<typeof ctxWith>[0]) => {
        const ctx = ctxWith(changes);
        const zones = validateZones(ctx);
        return { ctx, h: validateHostnames(ctx, zones, validateDomains(ctx, zones)) };
    };
    it("computes the published web hosts once, with the proxied flag", () => {
        const { ctx, h } = hostsOf([{ key: "homemail:cloudflareProxiedHosts", value: ["autoconfig.example.com"] }]);
        expect(problemKeys(ctx)).toEqual([]);
        expect(h.webHosts).toEqual([
            { name: "autoconfig.example.com", proxied: true },
            { name: "autodiscover.example.com", proxied: false },
            { name: "mta-sts.example.com", proxied: false },
            { name: "openpgpkey.example.com", proxied: false },
        ]);
        expect(h.passthroughHosts).toEqual(["mail.example.com", "autoconfig.example.com", "autodiscover.example.com"]);
    });
    it("refuses the VPS's own MTA-STS and WKD hosts as Mailu hostnames", () => {
        const { ctx } = hostsOf([{ key: "homemail:extraHostnames", value: ["mta-sts.example.com", "openpgpkey.example.com"] }]);
        expect(problemKeys(ctx)).toEqual(["homemail:extraHostnames[0]", "homemail:extraHostnames[1]"]);
    });
});

describe("validateNetworks and validateOverlaps", () => {
    it("returns the address plan of the dev stack", () => {
        const ctx = ctxWith();
        const n = validateNetworks(ctx);
        expect([n.vpsPublicIp, n.homeWanIp, n.homeLan?.text, n.wgNetwork?.text, n.mailSubnet?.text]).toEqual(["203.0.113.10", "198.51.100.20", "192.168.1.0/24", "10.0.1.0/24", "192.168.203.0/24"]);
        expect(problemKeys(ctx)).toEqual([]);
    });
    it("blames the key the user set, never a default, and never suggests the conflicting value", () => {
        const ctx = ctxWith();
        validateOverlaps(ctx, [
            { key: "homemail:mailSubnet", what: "Mailu's network", cidr: cidr("10.0.0.0/16"), userSet: true, choices: ["10.0.0.0/16", "10.0.1.0/24", "192.168.203.0/24"] },
            { key: "homemail:wireguard.network", what: "the WireGuard network", cidr: cidr("10.0.1.0/24"), userSet: false, choices: ["10.0.1.0/24"] },
        ]);
        expect(ctx.problems.all).toEqual([
            { key: "homemail:mailSubnet", problem: expect.stringContaining("the default 10.0.1.0/24 (homemail:wireguard.network is not set)"), fix: "use a range that overlaps nothing else, e.g. 192.168.203.0/24" },
        ]);
    });
    it("refuses a Mailu network inside docker0's 172.17.0.0/16 but not Docker's other pools", () => {
        const bad = ctxWith([{ key: "homemail:mailSubnet", value: "172.17.0.0/24" }]);
        validateNetworks(bad);
        expect(problemKeys(bad)).toEqual(["homemail:mailSubnet"]);
        const ok = ctxWith([{ key: "homemail:mailSubnet", value: "192.168.204.0/24" }]);
        validateNetworks(ok);
        expect(problemKeys(ok)).toEqual([]);
    });
    it("takes /16 to /28 and refuses /15 and /29", () => {
        for (const [text, ok] of [["192.168.0.0/16", true], ["192.168.203.0/28", true], ["192.168.203.0/29", false], ["10.0.0.0/15", false]] as const) {
            const ctx = ctxWith([{ key: "homemail:mailSubnet", value: text }, { key: "homemail:wireguard", value: { network: "10.201.1.0/24" } }, { key: "homemail:home", value: { ...devValue<Record<string, unknown>>("homemail:home"), lanCidr: "172.20.0.0/24" } }]);
            validateNetworks(ctx);
            expect([text, problemKeys(ctx)]).toEqual([text, ok ? [] : ["homemail:mailSubnet"]]);
        }
    });
});

describe("validateWireguardHosts", () => {
    const endpoint = (endpointHost: string) => {
        const ctx = ctxWith([{ key: "homemail:wireguard", value: { ...devValue<Record<string, unknown>>("homemail:wireguard"), endpointHost } }]);
        const r = validateWireguardHosts(ctx, cidr("10.0.1.0/24"), "203.0.113.10");
        return { r, keys: problemKeys(ctx) };
    };
    it("defaults hub and spoke to the first and second host and the endpoint to the VPS IP", () => {
        const ctx = ctxWith([{ key: "homemail:wireguard", value: undefined }]);
        expect(validateWireguardHosts(ctx, cidr("10.9.0.0/24"), "203.0.113.10")).toEqual({ hub: "10.9.0.1", spoke: "10.9.0.2", endpointHost: "203.0.113.10" });
    });
    it("takes a hostname or an IPv4 endpoint, lowercased", () => {
        expect(endpoint("VPS.example.net").r.endpointHost).toBe("vps.example.net");
        expect(endpoint("198.51.100.9").keys).toEqual([]);
    });
    it("refuses a port, brackets, comment signs and equals signs in the endpoint", () => {
        for (const bad of ["a:51999", "[::1]", "vps#x", "PostUp=x", "1.2.3", "-vps.example.net"]) expect([bad, endpoint(bad).keys]).toEqual([bad, ["homemail:wireguard.endpointHost"]]);
    });
});

describe("validateSsh", () => {
    const ssh = (which: "vps" | "home", fields: Record<string, unknown>) => {
        const ctx = ctxWith([{ key: `homemail:${which}`, value: { ...devValue<Record<string, unknown>>(`homemail:${which}`), ...fields } }]);
        return { r: validateSsh(ctx, "203.0.113.10"), keys: problemKeys(ctx) };
    };
    it("accepts a one-label LAN name, IPv4 and a bracketed IPv6, and a POSIX user", () => {
        for (const sshHost of ["nas", "nas.lan", "192.168.1.10", "[fd00::10]"]) expect(ssh("home", { sshHost, sshUser: "deploy_1" }).keys).toEqual([]);
        expect(ssh("vps", {}).r.vps).toEqual({ host: "203.0.113.10", port: 22, user: "root", privateKey: undefined });
    });
    it("refuses ssh options, URLs and user@host in host and user", () => {
        expect(ssh("vps", { sshHost: "-oProxyCommand=x" }).keys).toEqual(["homemail:vps.sshHost"]);
        expect(ssh("home", { sshUser: "-oProxyCommand=x" }).keys).toEqual(["homemail:home.sshUser"]);
        expect(ssh("home", { sshHost: "ssh://nas" }).keys).toEqual(["homemail:home.sshHost"]);
    });
});

describe("validateUsers, validateAliases, validateReportAddresses", () => {
    const people = (changes: Parameters<typeof ctxWith>[0]) => {
        const ctx = ctxWith(changes);
        const domains = validateDomains(ctx, validateZones(ctx));
        const u = validateUsers(ctx, domains);
        const aliases = validateAliases(ctx, domains, u.users, u.admin);
        const reports = validateReportAddresses(ctx, { ...u, aliases }, domains);
        return { ctx, u, aliases, reports };
    };
    it("makes the admin a user, adds the standard aliases and defaults reports to the admin", () => {
        const { ctx, u, aliases, reports } = people([]);
        expect(problemKeys(ctx)).toEqual([]);
        expect(u.users.map((x) => [x.address, x.globalAdmin])).toEqual([["admin@example.com", true], ["user@example.com", false]]);
        expect(aliases.filter((a) => a.standard).map((a) => a.localPart)).toEqual(["abuse", "hostmaster", "noc", "postmaster", "security", "webmaster"]);
        expect(reports).toEqual({ dmarcReport: "admin@example.com", tlsRpt: "admin@example.com", acme: "admin@example.com" });
    });
    it("renders users with any local-part character, but refuses URI-unsafe ones in report addresses", () => {
        const { ctx, u } = people([{ key: "homemail:users", value: [{ address: "o'brien@example.com" }, { address: "first+tag@example.com" }] }, { key: "homemail:dmarc", value: { reportAddress: "r!10m@elsewhere.org" } }]);
        expect(u.users.map((x) => x.address)).toEqual(expect.arrayContaining(["o'brien@example.com", "first+tag@example.com"]));
        expect(problemKeys(ctx)).toEqual(["homemail:dmarc.reportAddress"]);
    });
    it("refuses an alias destination in our domains that reaches nobody", () => {
        const { ctx } = people([{ key: "homemail:aliases", value: [{ address: "info@example.com", destinations: ["ghost@example.com", "x@elsewhere.org"] }] }]);
        expect(problemKeys(ctx)).toEqual(["homemail:aliases[0].destinations[0]"]);
    });
});

describe("validateDnsPolicy", () => {
    it("defaults the DMARC policy, alignment and MTA-STS mode", () => {
        const ctx = ctxWith([{ key: "homemail:dmarc", value: undefined }, { key: "homemail:mtaSts", value: undefined }]);
        expect(validateDnsPolicy(ctx, "admin@example.com")).toEqual({
            dkim: { selector: "dkim" },
            dmarc: { policy: "quarantine", subdomainPolicy: "quarantine", reportAddress: "admin@example.com", dkimAlignment: "strict", spfAlignment: "strict" },
            mtaSts: { mode: "testing", maxAgeSeconds: 604800 },
        });
    });
    it("refuses a selector that is not one DNS label", () => {
        const ctx = ctxWith([{ key: "homemail:dkimSelector", value: "a.b" }]);
        expect(validateDnsPolicy(ctx, "admin@example.com")).toBeUndefined();
        expect(problemKeys(ctx)).toEqual(["homemail:dkimSelector"]);
    });
});

describe("validateImages and validateGateway", () => {
    it("pins the default images and refuses latest", () => {
        expect(validateImages(ctxWith())).toEqual({ traefik: "v3.7.16", haproxy: "3.2.19", nginx: "1.29.3" });
        const ctx = ctxWith([{ key: "homemail:images", value: { nginx: "latest" } }]);
        expect(validateImages(ctx)).toBeUndefined();
        expect(problemKeys(ctx)).toEqual(["homemail:images.nginx"]);
    });
    it("refuses homemail's own gateway directory however it is written", () => {
        for (const dir of ["/opt/homemail/gateway", "/opt/homemail/./gateway/x", "//opt/homemail/gateway/"]) {
            const ctx = ctxWith([{ key: "homemail:gateway", value: { existingTraefikDynamicDir: dir } }]);
            expect(validateGateway(ctx)).toBeUndefined();
            expect(ctx.problems.all[0].problem).toContain("homemail's own gateway directory");
        }
        expect(validateGateway(ctxWith([{ key: "homemail:gateway", value: { existingTraefikDynamicDir: "/etc/traefik/dynamic" } }]))).toEqual({ firewall: true, existingTraefikDynamicDir: "/etc/traefik/dynamic" });
    });
});

describe("hostDirectory", () => {
    const check = (value: string) => {
        const ctx = ctxWith();
        const dir = hostDirectory(ctx, "homemail:mailu.dataRoot", value, "/srv/mailu");
        const first = ctx.problems.all[0];
        return { dir, problem: first ? `${first.problem}. Fix: ${first.fix}` : "" };
    };
    it("keeps a normal directory below a top-level one", () => {
        expect(check("/mnt/luks/mailu")).toEqual({ dir: "/mnt/luks/mailu", problem: "" });
    });
    it("normalises before checking: //tmp/x is /tmp, /. is /, /usr/ is /usr", () => {
        expect(check("//tmp/x").problem).toContain("emptied at reboot");
        expect(check("/.").problem).toContain("root directory");
        expect(check("/usr/").problem).toContain("system directory /usr");
        expect(check("/srv//mailu").problem).toContain("write it as /srv/mailu");
    });
});

describe("validateMailu and validateEgress", () => {
    it("resolve their defaults", () => {
        expect(validateMailu(ctxWith())).toEqual(expect.objectContaining({ version: "2024.06.61", dataRoot: "/srv/mailu", webmail: "snappymail", pruneRemoved: false }));
        expect(validateEgress(ctxWith())).toEqual({ enabled: true, fwmark: 25, routeTable: 100, rulePriority: 10025, stateDir: "/var/lib/homemail/smtp-egress" });
    });
    it("refuse a data root or state directory that is a system directory", () => {
        const mailu = ctxWith([{ key: "homemail:mailu", value: { dataRoot: "/var" } }]);
        expect(validateMailu(mailu)).toBeUndefined();
        const egress = ctxWith([{ key: "homemail:egress", value: { stateDir: "/etc" } }]);
        expect(validateEgress(egress)).toBeUndefined();
        expect([...problemKeys(mailu), ...problemKeys(egress)]).toEqual(["homemail:mailu.dataRoot", "homemail:egress.stateDir"]);
    });
});

describe("validateWkd", () => {
    it("publishes the dev user's key at its address", () => {
        const ctx = ctxWith();
        const domains = validateDomains(ctx, validateZones(ctx));
        const pubs = validateWkd(ctx, domains, validateUsers(ctx, domains).wkdUsers);
        expect(pubs.map((p) => [p.address, p.configKey])).toEqual([["user@example.com", "homemail:users[0].openpgpPublicKey"]]);
        expect(problemKeys(ctx)).toEqual([]);
    });
});

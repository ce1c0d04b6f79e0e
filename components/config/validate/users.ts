/**
 * Users and aliases: the admin, mailboxes, passwords, aliases (with the standard role aliases), and
 * the report addresses that must reach one of them.
 */
import { DEFAULTS } from "../defaults";
import { KEYS } from "../keys";
import type { MailAlias, MailDomain, MailUser } from "../model";
import { MAILTO_UNSAFE, splitAddress } from "../names";
import type { WkdUserInput } from "../openpgp";
import { Ctx, key } from "./context";

interface Address {
    readonly address: string;
    readonly local: string;
    readonly domain: string;
}

export interface People {
    readonly admin?: Address;
    readonly users: readonly MailUser[];
    readonly aliases: readonly MailAlias[];
    /** The users' OpenPGP keys for the WKD validator. */
    readonly wkdUsers: readonly WkdUserInput[];
}

/** An address, lowercased and split; undefined after a problem. */
export function addressAt(ctx: Ctx, where: string, value: string, fix: string): Address | undefined {
    const address = value.trim().toLowerCase();
    const parts = splitAddress(address);
    if (!parts) ctx.problems.add(where, `"${value}" is not an e-mail address`, fix);
    return parts ? { address, ...parts } : undefined;
}

/** Mailu keeps accounts only in the primary and extra domains. */
function inMainDomain(ctx: Ctx, domains: readonly MailDomain[], where: string, a: Address, what: string): boolean {
    const main = domains.filter((d) => d.kind !== "alternative").map((d) => d.name);
    if (main.includes(a.domain)) return true;
    const alt = domains.find((d) => d.name === a.domain && d.kind === "alternative");
    if (alt) ctx.problems.add(where, `${what} is in alternative domain ${a.domain}; Mailu keeps accounts in the main domain ${alt.alternativeOf}`, `use @${alt.alternativeOf} (mail to @${a.domain} reaches it automatically)`);
    else ctx.problems.add(where, `${what} is not in a mail domain of this stack (${main.join(", ") || "none"})`, "use an address in homemail:primaryDomain or homemail:extraDomains");
    return false;
}

/** `users` and `adminAddress` (the admin becomes a user when not listed); passwords must name a user. */
export function validateUsers(ctx: Ctx, domains: readonly MailDomain[]): { admin?: Address; users: MailUser[]; wkdUsers: WkdUserInput[] } {
    const { raw, problems } = ctx;
    const primary = domains.find((d) => d.kind === "primary")?.name;
    const adminText = raw.adminAddress ?? (primary ? `admin@${primary}` : undefined);
    const admin = adminText !== undefined ? addressAt(ctx, key("adminAddress"), adminText, KEYS.adminAddress.example) : undefined;
    const adminOk = !!admin && inMainDomain(ctx, domains, key("adminAddress"), admin, `admin address ${admin.address}`);
    // The admin is the CAA iodef address and the default DMARC/TLS-RPT report address: all mailto: URIs.
    if (admin && MAILTO_UNSAFE.test(admin.local)) mailtoProblem(ctx, key("adminAddress"), admin.address);
    const passwords = Object.keys(raw.userPasswords ?? {});
    const mailUser = (a: Address, extra: Pick<MailUser, "displayName" | "quotaBytes" | "openpgpPublicKey">): MailUser => ({
        address: a.address,
        localPart: a.local,
        domain: a.domain,
        ...extra,
        globalAdmin: a.address === admin?.address,
        password: passwords.some((p) => p.toLowerCase() === a.address) ? { source: "config", ref: { configKey: key("userPasswords"), path: a.address } } : { source: "random" },
    });
    const users: MailUser[] = [];
    const wkdUsers: WkdUserInput[] = [];
    const seen = new Map<string, number>();
    (raw.users ?? []).forEach((u, i) => {
        const where = key("users", `[${i}].address`);
        const a = addressAt(ctx, where, u.address, KEYS.users.example);
        if (!a || !inMainDomain(ctx, domains, where, a, `user ${a.address}`)) return;
        if (seen.has(a.address)) return problems.add(where, `user ${a.address} is already defined at homemail:users[${seen.get(a.address)}]`, "define each user once");
        seen.set(a.address, i);
        wkdUsers.push({ address: a.address, userConfigKey: key("users", `[${i}]`), armoredKey: u.openpgpPublicKey });
        users.push(mailUser(a, { displayName: u.displayName, quotaBytes: u.quotaBytes, openpgpPublicKey: u.openpgpPublicKey }));
    });
    for (const p of passwords) {
        if (!seen.has(p.toLowerCase()) && p.toLowerCase() !== admin?.address) {
            problems.add(key("userPasswords", `["${p}"]`), `sets a password for ${p}, which is not in homemail:users`, `add ${p} to homemail:users or remove the password`);
        }
    }
    if (admin && adminOk && !seen.has(admin.address)) {
        wkdUsers.push({ address: admin.address, userConfigKey: key("adminAddress") }); // a user without a users[] entry
        users.push(mailUser(admin, {}));
    }
    return { admin: adminOk ? admin : undefined, users: users.sort((a, b) => a.address.localeCompare(b.address)), wkdUsers };
}

/** One alias's destinations: addresses, none starting with "-". */
function destinationsOf(ctx: Ctx, i: number, destinations: readonly string[]): string[] {
    return destinations.flatMap((d, j) => {
        const where = key("aliases", `[${i}].destinations[${j}]`);
        const dest = addressAt(ctx, where, d, "use a full e-mail address as destination");
        // Mailu's config-import (update mode) reads a list item starting with "-" as "remove this item".
        if (dest?.address.startsWith("-")) {
            ctx.problems.add(where, `${dest.address} starts with "-", which Mailu's config-import reads as "remove this destination"`, "use an address whose local part does not start with -");
            return [];
        }
        return dest ? [dest.address] : [];
    });
}

/** `aliases` and `standardAliases`; every destination inside our domains must reach a user or alias. */
export function validateAliases(ctx: Ctx, domains: readonly MailDomain[], users: readonly MailUser[], admin: Address | undefined): MailAlias[] {
    const { raw, problems } = ctx;
    const aliases: MailAlias[] = [];
    const seen = new Map<string, number>();
    (raw.aliases ?? []).forEach((al, i) => {
        const where = key("aliases", `[${i}].address`);
        const a = addressAt(ctx, where, al.address, KEYS.aliases.example);
        if (!a || !inMainDomain(ctx, domains, where, a, `alias ${a.address}`)) return;
        if (users.some((u) => u.address === a.address)) return problems.add(where, `${a.address} is also a user; an address is either a mailbox or an alias`, "remove the alias or the user");
        if (seen.has(a.address)) return problems.add(where, `alias ${a.address} is already defined at homemail:aliases[${seen.get(a.address)}]`, "merge the destinations into one alias");
        seen.set(a.address, i);
        aliases.push({ address: a.address, localPart: a.local, domain: a.domain, destinations: destinationsOf(ctx, i, al.destinations), standard: false });
    });
    if ((raw.standardAliases ?? DEFAULTS.standardAliases) && admin) {
        for (const d of domains.filter((x) => x.kind !== "alternative")) {
            for (const local of DEFAULTS.standardAliasLocalParts) {
                const address = `${local}@${d.name}`;
                if (users.some((u) => u.address === address) || seen.has(address)) continue;
                aliases.push({ address, localPart: local, domain: d.name, destinations: [admin.address], standard: true });
            }
        }
    }
    aliases.sort((a, b) => a.address.localeCompare(b.address));
    const reach = deliverable(domains, users, aliases);
    (raw.aliases ?? []).forEach((al, i) =>
        al.destinations.forEach((d, j) => {
            const dest = d.trim().toLowerCase();
            if (splitAddress(dest) && !reach(dest)) problems.add(key("aliases", `[${i}].destinations[${j}]`), `${dest} is in a domain of this stack but is neither a user nor an alias`, `add ${dest} to homemail:users or homemail:aliases, or fix the typo`);
        }),
    );
    return aliases;
}

/** True when an address outside our domains, or a user or alias of ours (alternative domains map to their parent). */
export function deliverable(domains: readonly MailDomain[], users: readonly MailUser[], aliases: readonly MailAlias[]): (address: string) => boolean {
    return (address) => {
        const parts = splitAddress(address);
        const domain = parts && domains.find((d) => d.name === parts.domain);
        if (!parts || !domain) return true;
        const canonical = `${parts.local}@${domain.alternativeOf ?? domain.name}`;
        return users.some((u) => u.address === canonical) || aliases.some((a) => a.address === canonical);
    };
}

function mailtoProblem(ctx: Ctx, where: string, address: string): void {
    ctx.problems.add(where, `${address} goes into a mailto: URI (DMARC rua, TLS-RPT rua, CAA iodef), where ! # $ % & ' * / = ? ^ \` { | } ~ have other meanings (! is DMARC's size limit)`, "use an address whose local part has only letters, digits, . _ + -");
}

/** DMARC and TLS-RPT report addresses (default: the admin) and the ACME account address. */
export function validateReportAddresses(ctx: Ctx, people: People, domains: readonly MailDomain[]): { dmarcReport?: string; tlsRpt?: string; acme?: string } {
    const reach = deliverable(domains, people.users, people.aliases);
    const report = (where: string, value: string | undefined, fix: string): string | undefined => {
        if (value === undefined) return people.admin?.address;
        const a = addressAt(ctx, where, value, fix);
        if (!a) return undefined;
        if (MAILTO_UNSAFE.test(a.local)) mailtoProblem(ctx, where, a.address);
        else if (!reach(a.address)) ctx.problems.add(where, `${a.address} is in a domain of this stack but is neither a user nor an alias`, "use an existing user or alias, or an address elsewhere");
        else return a.address;
        return undefined;
    };
    const dmarcReport = report(key("dmarc", ".reportAddress"), ctx.raw.dmarc?.reportAddress, KEYS.dmarc.example);
    const tlsRpt = report(key("tlsRptAddress"), ctx.raw.tlsRptAddress, KEYS.tlsRptAddress.example);
    const acme = ctx.raw.acmeEmail !== undefined ? addressAt(ctx, key("acmeEmail"), ctx.raw.acmeEmail, KEYS.acmeEmail.example)?.address : people.admin?.address;
    return { dmarcReport, tlsRpt, acme };
}

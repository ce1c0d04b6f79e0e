/**
 * Blocklists: the VPS IP on a DNSBL (Spamhaus ZEN by default) and each mail domain on a domain
 * blocklist (Spamhaus DBL), asked through a resolver (the system's, or --blocklist-resolver).
 * Spamhaus answers queries from public resolvers with 127.255.255.254 instead of a verdict: that is
 * reported as such (a warn naming the option), never as a listing.
 */
import { Resolver } from "node:dns/promises";
import { Check, fail, Finding, ok, warn } from "../check";
import type { DoctorContext } from "../context";

type C = Check<DoctorContext>;

export interface BlocklistOptions {
    /** IP blocklist zone (`zen.spamhaus.org`). */
    readonly ipZone: string;
    /** Domain blocklist zone (`dbl.spamhaus.org`). */
    readonly domainZone: string;
    /** Resolver address; default: the system's. */
    readonly resolver?: string;
}

export const DEFAULT_BLOCKLISTS: BlocklistOptions = { ipZone: "zen.spamhaus.org", domainZone: "dbl.spamhaus.org" };

/** Spamhaus's error answers (https://www.spamhaus.org/news/article/807): not a listing. */
const REFUSALS: Record<string, string> = {
    "127.255.255.252": "the blocklist name is wrong (typo)",
    "127.255.255.254": "the query came through a public or open resolver, which Spamhaus refuses",
    "127.255.255.255": "the resolver sent too many queries",
    "127.0.1.255": "the domain list was asked about an IP address",
};

/** Judges a blocklist answer (pure: unit-tested). `answers` empty = not listed. */
export function blocklistFinding(subject: string, zone: string, answers: readonly string[], delist: string): Finding {
    if (answers.length === 0) return ok(`${subject} is not listed on ${zone}`);
    const refusal = answers.map((a) => REFUSALS[a]).find(Boolean);
    if (refusal) return warn(`${zone} gave no verdict for ${subject} (${answers.join(", ")}: ${refusal})`, "ask through your own resolver, not a public one: --blocklist-resolver ADDR (or a local unbound)");
    return fail(`${subject} is listed on ${zone} (${answers.join(", ")}): receivers using it reject or junk your mail`, delist);
}

export function blocklistChecks(ctx: Pick<DoctorContext, "model">, opts: BlocklistOptions): C[] {
    const resolver = new Resolver({ timeout: 3000, tries: 2 });
    if (opts.resolver) resolver.setServers([opts.resolver]);
    const lookup = async (name: string): Promise<string[] | Error> => {
        try {
            return await resolver.resolve4(name);
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOTFOUND" || code === "ENODATA") return [];
            return err instanceof Error ? err : new Error(String(err));
        }
    };
    const judge = async (subject: string, name: string, zone: string, delist: string): Promise<Finding> => {
        const answers = await lookup(name);
        if (answers instanceof Error) return warn(`${zone} did not answer for ${subject}: ${answers.message}`, "check the resolver (or give --blocklist-resolver ADDR)");
        return blocklistFinding(subject, zone, answers.sort(), delist);
    };
    const ip = ctx.model.addresses.vpsPublicIp;
    return [
        {
            id: "blocklist.ip",
            area: "blocklist",
            title: `the VPS IP is not on ${opts.ipZone}`,
            run: () => judge(ip, `${ip.split(".").reverse().join(".")}.${opts.ipZone}`, opts.ipZone, `look up ${ip} at https://check.spamhaus.org/ and follow its removal steps (for a listing of the VPS's range, ask the VPS provider)`),
        },
        ...ctx.model.domains.map((d): C => ({
            id: `blocklist.domain:${d.name}`,
            area: "blocklist",
            title: `${d.name} is not on ${opts.domainZone}`,
            run: () => judge(d.name, `${d.name}.${opts.domainZone}`, opts.domainZone, `look up ${d.name} at https://check.spamhaus.org/ and request its removal`),
        })),
    ];
}

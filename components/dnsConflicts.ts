/**
 * Reads every zone's records through the Cloudflare provider (the `getDnsRecords` invoke) and stops
 * the program with the full list of conflicts (render/dnsConflicts.ts) before anything is registered:
 * main.ts, the program's entry, awaits {@link checkDnsConflicts} before it loads index.ts. Under the
 * mock engine the invoke returns the fixture listing (an empty zone), or a test's fake one.
 */
import * as pulumi from "@pulumi/pulumi";
import * as cloudflare from "@pulumi/cloudflare";
import type { Model } from "./config/model";
import { dnsConflictReport, dnsConflicts, ExistingRecord } from "./render/dnsConflicts";

/** Records read per zone; a zone this large is far beyond a mail setup's, and is said so. */
export const MAX_RECORDS_PER_ZONE = 5000;

/** The records of one zone, as the provider lists them. */
async function zoneRecords(zone: { name: string; id: string }): Promise<ExistingRecord[]> {
    let listing: cloudflare.GetDnsRecordsResult;
    try {
        listing = await cloudflare.getDnsRecords({ zoneId: zone.id, maxItems: MAX_RECORDS_PER_ZONE });
    } catch (err) {
        const why = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").trim();
        throw new pulumi.RunError(
            `homemail: could not list the DNS records of zone ${zone.name} (${zone.id}) to check them for conflicts: ${why}. ` +
                `Fix: check homemail:cloudflareZones["${zone.name}"] and that cloudflare:apiToken may read that zone's DNS (DNS Read or DNS Edit)`,
        );
    }
    const results = listing.results ?? [];
    if (results.length >= MAX_RECORDS_PER_ZONE) {
        pulumi.log.warn(`zone ${zone.name} has ${MAX_RECORDS_PER_ZONE} or more records: only the first ${MAX_RECORDS_PER_ZONE} were checked for conflicts`);
    }
    return results.map((r) => ({ zone: zone.name, name: r.name ?? "", type: r.type ?? "", content: r.content ?? "", comment: r.comment ?? "" }));
}

/**
 * Resolves when no zone holds a record that conflicts with homemail's; otherwise rejects with a
 * RunError listing every conflict, one line each (Pulumi prints it without a stack trace; the offline
 * render exits 2 on it).
 */
export async function checkDnsConflicts(model: Model): Promise<void> {
    const existing = (await Promise.all(model.cloudflare.zones.map(zoneRecords))).flat();
    const conflicts = dnsConflicts(model, existing);
    if (conflicts.length > 0) throw new pulumi.RunError(dnsConflictReport(conflicts));
}

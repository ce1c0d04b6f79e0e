/**
 * A signed lab DNS tree for DNSSEC checks: a lab root `.` -> `com.` -> the stack's zone, each with
 * its own key (one ECDSA P-256 key per zone, signing everything: a CSK), signed by BIND's
 * dnssec-signzone, all served by the lab's one name server (the glue of each delegation). The
 * root's key is the trust anchor a validator (delv -a) is given; nothing here is trusted elsewhere.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { run } from "../../lab/harness";

const SERVER = "a.lab-servers.com";

export class SignedTree {
    private constructor(
        private readonly dir: string,
        /** The child zone (the stack's), e.g. example.com. */
        readonly zone: string,
        private readonly serverAddress: string,
    ) {}

    /** Makes one key per zone (`.`, `com`, the child) in `dir`. */
    static create(dir: string, zone: string, serverAddress: string): SignedTree {
        if (zone.split(".").length !== 2 || !zone.endsWith(".com")) throw new Error(`the lab's signed tree is root -> com -> <name>.com, not ${zone}`);
        mkdirSync(dir, { recursive: true });
        for (const z of [".", "com", zone]) run(["dnssec-keygen", "-q", "-K", dir, "-a", "ECDSAP256SHA256", "-f", "KSK", "-n", "ZONE", z]);
        return new SignedTree(dir, zone, serverAddress);
    }

    /** `zone` text signed with its key (dnssec-signzone, the serial kept as written). */
    sign(zone: string, text: string): string {
        const origin = zone === "." ? "." : `${zone}.`;
        const base = zone === "." ? "root" : zone;
        const unsigned = path.join(this.dir, `${base}.unsigned`);
        writeFileSync(unsigned, text);
        run(["dnssec-signzone", "-q", "-S", "-z", "-K", this.dir, "-d", this.dir, "-N", "keep", "-o", origin, "-f", `${unsigned}.signed`, unsigned], { cwd: this.dir });
        return readFileSync(`${unsigned}.signed`, "utf8");
    }

    /** The child's DS records (digest type 2), as `dnssec-signzone` wrote them for its parent. */
    childDs(): string[] {
        const dsset = readFileSync(path.join(this.dir, `dsset-${this.zone}.`), "utf8");
        return dsset.split("\n").filter((l) => /\sDS\s+\d+\s+\d+\s+2\s/.test(l)).map((l) => l.trim());
    }

    /** The child's DS as Cloudflare reports it (the stack output `registrarDs`). */
    registrarDs(): { zone: string; keyTag: number; algorithm: number; digestType: number; digest: string; record: string }[] {
        return this.childDs().map((line) => {
            const [, name, keyTag, algorithm, digestType, digest] = /^(\S+)\s+(?:\d+\s+)?IN\s+DS\s+(\d+)\s+(\d+)\s+(\d+)\s+(.+)$/.exec(line)!;
            const hex = digest.replace(/\s+/g, "").toUpperCase();
            return { zone: name.replace(/\.$/, ""), keyTag: Number(keyTag), algorithm: Number(algorithm), digestType: Number(digestType), digest: hex, record: `${name} IN DS ${keyTag} ${algorithm} ${digestType} ${hex}` };
        });
    }

    /** The `com` zone delegating the child with `ds` lines (DS records of the child, presentation form). */
    comZone(ds: readonly string[], childNs: string): string {
        return [
            "$ORIGIN com.", "$TTL 300",
            `@ IN SOA ${SERVER}. hostmaster.invalid. 1 7200 3600 1209600 300`,
            `@ IN NS ${SERVER}.`,
            `${SERVER}. IN A ${this.serverAddress}`,
            `${this.zone}. IN NS ${childNs}`,
            `${childNs} IN A ${this.serverAddress}`,
            ...ds,
            "",
        ].join("\n");
    }

    /** The root zone delegating `com` (signed first: its DS comes from dnssec-signzone's dsset). */
    rootZone(): string {
        const comDs = readFileSync(path.join(this.dir, "dsset-com."), "utf8").trim().split("\n").filter((l) => /\sDS\s/.test(l));
        return [
            "$ORIGIN .", "$TTL 300",
            `. IN SOA ${SERVER}. hostmaster.invalid. 1 7200 3600 1209600 300`,
            `. IN NS ${SERVER}.`,
            `com. IN NS ${SERVER}.`,
            `${SERVER}. IN A ${this.serverAddress}`,
            ...comDs,
            "",
        ].join("\n");
    }

    /** delv's trust anchor file (bind.keys format) with the lab root's key. */
    trustAnchorFile(): string {
        const keyFile = readdirSync(this.dir).find((f) => /^K\.\+013\+\d+\.key$/.test(f));
        if (!keyFile) throw new Error("no lab root key");
        const line = readFileSync(path.join(this.dir, keyFile), "utf8").split("\n").find((l) => /\sDNSKEY\s/.test(l))!;
        const [, flags, protocol, algorithm, ...key] = /DNSKEY\s+(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line)!;
        const file = path.join(this.dir, "lab-root.anchor");
        writeFileSync(file, `trust-anchors {\n    . static-key ${flags} ${protocol} ${algorithm} "${key.join(" ").replace(/\s+/g, "")}";\n};\n`);
        return file;
    }
}

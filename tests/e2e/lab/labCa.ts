/**
 * A certificate authority that exists only for one lab run: it stands in for Let's Encrypt, which
 * Traefik would ask for certificates. Only lab hosts that install its certificate in their private
 * /etc trust it; the machine's own trust store is never touched.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { run } from "../../lab/harness";

export interface IssuedCertificate {
    /** PEM files. */
    readonly certFile: string;
    readonly keyFile: string;
}

export class LabCa {
    readonly certFile: string;
    private readonly keyFile: string;
    private serial = 1;

    constructor(private readonly dir: string) {
        mkdirSync(dir, { recursive: true });
        this.certFile = path.join(dir, "lab-ca.crt");
        this.keyFile = path.join(dir, "lab-ca.key");
        run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "90",
            "-subj", "/CN=homemail e2e lab CA (test only)", "-keyout", this.keyFile, "-out", this.certFile,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    }

    /** The CA certificate (PEM), to install as a lab host's trust store. */
    certificate(): string {
        return readFileSync(this.certFile, "utf8");
    }

    /**
     * A server certificate for the given DNS names, signed by this CA, valid for `days` (90 by
     * default, as Let's Encrypt's: clients that judge the days left see a healthy certificate).
     */
    issue(names: readonly string[], days = 90): IssuedCertificate {
        const base = path.join(this.dir, `server-${this.serial}`);
        const keyFile = `${base}.key`;
        const certFile = `${base}.crt`;
        run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", `/CN=${names[0]}`, "-keyout", keyFile, "-out", `${base}.csr`]);
        writeFileSync(`${base}.ext`, `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\n`);
        run(["openssl", "x509", "-req", "-in", `${base}.csr`, "-CA", this.certFile, "-CAkey", this.keyFile, "-set_serial", String(this.serial++), "-days", String(days), "-out", certFile, "-extfile", `${base}.ext`]);
        return { certFile, keyFile };
    }
}

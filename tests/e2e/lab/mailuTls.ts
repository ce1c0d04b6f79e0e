/**
 * What Mailu's front serves over TLS, played in the home "container" by real daemons with a lab-CA
 * certificate for the names of mailu.env's HOSTNAMES (the one certificate Mailu's certbot gets):
 * every port the rendered front publishes gets its listener, each expecting a PROXY header exactly
 * when mailu.env's PROXY_PROTOCOL lists it, trusting it from REAL_IP_FROM as Mailu does:
 * - the Postfix stand-in (already on 25): STARTTLS on 25, implicit TLS on 465;
 * - Dovecot (Debian's, its own config dir): IMAPS 993, POP3S 995, ManageSieve with STARTTLS on 4190;
 * - nginx: HTTPS on 443 for the passthrough hosts, and 80.
 * Which daemon plays a port goes by the port table row's role; a row no daemon plays fails loudly.
 */
import { appendFileSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { Model } from "../../../components/config";
import type { PortRow } from "../../../components/config/model";
import { Host, Lab } from "../../lab/harness";
import type { Home } from "./home";
import { LabCa } from "./labCa";
import { waitListening } from "./listening";
import { LoggedProcess, spawnLogged } from "./logged";
import { startLabNginx } from "./nginx";
import { frontPublishedPorts, mailuEnv, proxyProtocolPorts } from "./mailuRender";
import { RenderedStack } from "./rendered";

type Daemon = "postfix" | "dovecot" | "nginx";
/** Which stand-in daemon plays each role of the port table. */
const PLAYED_BY: Readonly<Record<string, Daemon>> = { smtp: "postfix", submissions: "postfix", imaps: "dovecot", pop3s: "dovecot", sieve: "dovecot", https: "nginx", http: "nginx" };

interface Listener {
    readonly row: PortRow;
    /** The port in the container (the front's published target). */
    readonly port: number;
    readonly proxy: boolean;
}

export interface MailuTls {
    /** The certificate every listener serves (a copy outside the CA's directory). */
    readonly certFile: string;
    readonly keyFile: string;
    readonly dovecot: LoggedProcess;
    /** Dovecot's config file: a fault edits a listener and runs `doveadm reload`. */
    readonly dovecotConf: string;
    readonly nginx: LoggedProcess;
}

export function startMailuTls(lab: Lab, home: Home, rendered: RenderedStack, model: Model, ca: LabCa): MailuTls {
    const env = mailuEnv(rendered);
    const hostnames = (env.HOSTNAMES ?? "").split(",").filter(Boolean);
    const trusted = (env.REAL_IP_FROM ?? "").split(",").filter(Boolean);
    if (hostnames.length === 0 || trusted.length === 0) throw new Error("mailu.env: the lab's Mailu TLS needs HOSTNAMES and REAL_IP_FROM");
    const proxied = proxyProtocolPorts(rendered);
    const published = frontPublishedPorts(rendered);
    const listeners: Listener[] = model.ports.map((row) => {
        const p = published.find((x) => x.hostPort === row.homePort);
        if (!p) throw new Error(`port ${row.publicPort} (${row.name}): the rendered front does not publish home port ${row.homePort}`);
        if (!PLAYED_BY[row.name]) throw new Error(`port ${row.publicPort} (${row.name}): no lab daemon plays this role of Mailu's front`);
        return { row, port: p.containerPort, proxy: proxied.includes(p.containerPort) };
    });
    const by = (d: Daemon) => listeners.filter((l) => PLAYED_BY[l.row.name] === d);

    const dir = path.join(lab.dir, "mailu-tls");
    mkdirSync(dir, { recursive: true });
    const issued = ca.issue(hostnames);
    const certFile = path.join(dir, "cert.pem");
    const keyFile = path.join(dir, "key.pem");
    copyFileSync(issued.certFile, certFile);
    copyFileSync(issued.keyFile, keyFile);

    postfixTls(home, by("postfix"), certFile, keyFile);
    const dovecotConf = path.join(dir, "dovecot", "dovecot.conf");
    const dovecot = startDovecot(home.container, path.dirname(dovecotConf), home.containerAddress, by("dovecot"), trusted, certFile, keyFile);
    const nginx = startNginx(home.container, path.join(dir, "nginx"), home.containerAddress, by("nginx"), hostnames, certFile, keyFile);
    for (const l of by("dovecot")) waitListening(home.container, l.port, "the Mailu stand-in's Dovecot", dovecot.log);
    for (const l of by("nginx")) waitListening(home.container, l.port, "the Mailu stand-in's nginx", nginx.log);
    for (const l of by("postfix")) waitListening(home.container, l.port, "the Mailu stand-in's Postfix", () => home.standIn.log());
    return { certFile, keyFile, dovecot, dovecotConf, nginx };
}

/** STARTTLS on the stand-in's smtpd, and one more smtpd with implicit TLS per submissions row; then `postfix reload`. */
function postfixTls(home: Home, listeners: readonly Listener[], certFile: string, keyFile: string): void {
    const pf = home.standIn;
    home.container.run(["postconf", "-c", pf.conf, "-e", `smtpd_tls_cert_file=${certFile}`, `smtpd_tls_key_file=${keyFile}`, "smtpd_tls_security_level=may"]);
    const services = ["tlsmgr    unix  - - n 1000? 1 tlsmgr"];
    for (const l of listeners.filter((x) => x.row.name !== "smtp")) {
        services.push(`${l.port}       inet  n - n -  - smtpd`, "  -o smtpd_tls_wrappermode=yes", ...(l.proxy ? ["  -o smtpd_upstream_proxy_protocol=haproxy"] : []));
    }
    appendFileSync(path.join(pf.conf, "master.cf"), services.map((s) => `${s}\n`).join(""));
    home.container.run(["postfix", "-c", pf.conf, "reload"]);
}

function startDovecot(place: Host, dir: string, address: string, listeners: readonly Listener[], trusted: readonly string[], certFile: string, keyFile: string): LoggedProcess {
    mkdirSync(path.join(dir, "run"), { recursive: true });
    const service: Record<string, { login: string; plain: string; protocol: string; tls: boolean }> = {
        imaps: { login: "imap-login", plain: "imap", protocol: "imap", tls: true },
        pop3s: { login: "pop3-login", plain: "pop3", protocol: "pop3", tls: true },
        sieve: { login: "managesieve-login", plain: "sieve", protocol: "sieve", tls: false },
    };
    const conf = [
        `base_dir = ${path.join(dir, "run")}`,
        `state_dir = ${path.join(dir, "state")}`,
        `log_path = ${path.join(dir, "dovecot.log")}`,
        `protocols = ${[...new Set(listeners.map((l) => service[l.row.name].protocol))].join(" ")}`,
        `listen = ${address}`,
        "ssl = yes",
        `ssl_cert = <${certFile}`,
        `ssl_key = <${keyFile}`,
        `haproxy_trusted_networks = ${trusted.join(" ")}`,
        // Nobody logs in: the doctor only looks at TLS.
        "passdb {\n  driver = static\n  args = password=lab-only-no-login\n}",
        `userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=${path.join(dir, "home")}/%u\n}`,
        ...listeners.map((l) => {
            const s = service[l.row.name];
            return [
                `service ${s.login} {`,
                // Only the port the front publishes: the protocol's default cleartext listener is off.
                ...(s.tls ? [`  inet_listener ${s.plain} {\n    port = 0\n  }`] : []),
                `  inet_listener ${l.row.name} {`,
                `    port = ${l.port}`,
                ...(s.tls ? ["    ssl = yes"] : []),
                ...(l.proxy ? ["    haproxy = yes"] : []),
                "  }",
                "}",
            ].join("\n");
        }),
        "",
    ].join("\n");
    const file = path.join(dir, "dovecot.conf");
    writeFileSync(file, conf);
    place.run(["doveconf", "-c", file, "-n"]);
    return spawnLogged(place, ["dovecot", "-F", "-c", file], path.join(dir, "master.log"));
}

function startNginx(place: Host, dir: string, address: string, listeners: readonly Listener[], hostnames: readonly string[], certFile: string, keyFile: string): LoggedProcess {
    const servers = listeners.map((l) => [
        "    server {",
        `        listen ${address}:${l.port}${l.row.mode === "tls-passthrough" ? " ssl" : ""}${l.proxy ? " proxy_protocol" : ""};`,
        `        server_name ${hostnames.join(" ")};`,
        ...(l.row.mode === "tls-passthrough" ? [`        ssl_certificate ${certFile};`, `        ssl_certificate_key ${keyFile};`] : []),
        '        location / { return 200 "the lab\'s stand-in for Mailu\'s front\\n"; }',
        "    }",
    ].join("\n"));
    return startLabNginx(place, dir, servers);
}

/**
 * HAProxy configuration for the server-first SMTP port(s) of the port table (process = haproxy).
 * Pure: no I/O, no clock.
 *
 * Kept within what both HAProxy 2.6 (Debian's, the checker in tests) and 3.2 (the image) accept.
 *
 * - Master-worker (`-W`, as the official image starts it, and `master-worker` here): a reload is
 *   `docker kill -s USR2` on the container; the master re-reads this file, new workers take over the
 *   listening sockets and old workers finish their sessions (bounded by `hard-stop-after`), so no
 *   connection is dropped. The compose service starts as root only to bind :25; workers run as
 *   `haproxy`.
 * - SMTP timeouts follow RFC 5321 section 4.5.3.2: a client may wait 5 minutes for a reply to a
 *   command and 10 minutes for the reply to the end of DATA, so the server side allows 10 minutes;
 *   the client side allows 5 minutes between commands.
 * - The health check speaks SMTP (`option smtpchk`): a Mailu front that accepts TCP but does not
 *   greet is not healthy. Checks carry the PROXY v2 header as traffic does (HAProxy's default for a
 *   server with send-proxy-v2 and no separate check port).
 * - Logs go to stdout (the container's log).
 */
import { GatewayModel, haproxyRows } from "./gatewayLayout";

export function renderHaproxyConfig(m: GatewayModel): string {
    const rows = haproxyRows(m);
    if (rows.length === 0) throw new Error("the port table gives HAProxy no port");
    const out: string[] = [
        "# managed by homemail, do not edit",
        "# HAProxy for server-first SMTP: the client waits for the banner, so nothing can be peeked;",
        `# every connection goes to Mailu at ${m.addresses.wgSpoke} with a PROXY v2 header naming the real client.`,
        "",
        "global",
        "    master-worker",
        "    log stdout format raw local0",
        "    user haproxy",
        "    group haproxy",
        "    maxconn 2000",
        "    hard-stop-after 15m",
        "",
        "defaults",
        "    mode tcp",
        "    log global",
        "    option tcplog",
        "    option dontlognull",
        "    timeout connect 10s",
        "    timeout client 5m",
        "    timeout server 10m",
        "    timeout client-fin 30s",
        "    timeout server-fin 30s",
        "    timeout check 10s",
    ];
    for (const row of rows) {
        if (row.mode !== "tcp") throw new Error(`port ${row.publicPort}: HAProxy forwards plain TCP only, not ${row.mode}`);
        out.push(
            "",
            `# ${row.description}`,
            `frontend ${row.name}_in`,
            `    bind :${row.publicPort}`,
            `    default_backend mailu_${row.name}`,
            "",
            `backend mailu_${row.name}`,
            ...(row.name === "smtp" ? [`    option smtpchk EHLO ${m.mailHost}`] : []),
            `    server mailu ${m.addresses.wgSpoke}:${row.homePort}${row.proxyV2 ? " send-proxy-v2" : ""} check inter 30s fall 3 rise 2`,
        );
    }
    return `${out.join("\n")}\n`;
}

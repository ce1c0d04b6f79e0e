/** Invalid-config cases of issue 4 (WireGuard link, SMTP egress): each names the key it breaks. */
import type { InvalidCase } from "./cases";

export const EGRESS_CASES: InvalidCase[] = [
    { title: "egress state dir under /run (lost at reboot)", changes: [{ key: "homemail:egress", value: { stateDir: "/run/homemail-egress" } }], key: "homemail:egress.stateDir", mentions: "emptied at reboot" },
    { title: "egress state dir under /tmp", changes: [{ key: "homemail:egress", value: { stateDir: "/tmp/egress" } }], key: "homemail:egress.stateDir", mentions: "/var/lib/homemail/smtp-egress" },
    { title: "egress route table = main (254)", changes: [{ key: "homemail:egress", value: { routeTable: 254 } }], key: "homemail:egress.routeTable", mentions: /252/ },
    { title: "egress rule priority at the main table's (32766)", changes: [{ key: "homemail:egress", value: { rulePriority: 32766 } }], key: "homemail:egress.rulePriority", mentions: /32765/ },
    { title: "egress fwmark 0 (no mark)", changes: [{ key: "homemail:egress", value: { fwmark: 0 } }], key: "homemail:egress.fwmark", mentions: /1/ },
    { title: "vps.oneToOneNat not a boolean", changes: [{ key: "homemail:vps", value: { publicIp: "203.0.113.10", oneToOneNat: "yes" } }], key: "homemail:vps.oneToOneNat", mentions: /boolean|true/ },
];


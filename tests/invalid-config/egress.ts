/** SMTP egress through the VPS: policy-routing numbers and the ledger directory. */
import type { InvalidCase } from "./cases";

const egress = (fields: Record<string, unknown>) => [{ key: "homemail:egress", value: fields }];

export const EGRESS_CASES: InvalidCase[] = [
    { title: "egress state dir under /run (lost at reboot)", changes: egress({ stateDir: "/run/homemail-egress" }), key: "homemail:egress.stateDir", mentions: "emptied at reboot" },
    { title: "egress state dir under /tmp", changes: egress({ stateDir: "/tmp/egress" }), key: "homemail:egress.stateDir", mentions: "/var/lib/homemail/smtp-egress" },
    { title: "egress state dir //tmp/x (normalised: /tmp)", changes: egress({ stateDir: "//tmp/x" }), key: "homemail:egress.stateDir", mentions: "emptied at reboot" },
    { title: "egress state dir /./run/x (normalised: /run)", changes: egress({ stateDir: "/./run/x" }), key: "homemail:egress.stateDir", mentions: "emptied at reboot" },
    { title: "egress state dir under /dev/shm", changes: egress({ stateDir: "/dev/shm/egress" }), key: "homemail:egress.stateDir", mentions: "emptied at reboot" },
    { title: "egress state dir is /var", changes: egress({ stateDir: "/var" }), key: "homemail:egress.stateDir", mentions: "system directory /var" },
    { title: "egress state dir is /etc", changes: egress({ stateDir: "/etc/" }), key: "homemail:egress.stateDir", mentions: "system directory /etc" },
    { title: "egress state dir with ..", changes: egress({ stateDir: "/var/lib/../../etc" }), key: "homemail:egress.stateDir", mentions: "absolute path" },
    { title: "egress state dir relative", changes: egress({ stateDir: "var/lib/egress" }), key: "homemail:egress.stateDir", mentions: "absolute path" },
    { title: "egress route table = main (254)", changes: egress({ routeTable: 254 }), key: "homemail:egress.routeTable", mentions: /252/ },
    { title: "egress rule priority at the main table's (32766)", changes: egress({ rulePriority: 32766 }), key: "homemail:egress.rulePriority", mentions: /32765/ },
    { title: "egress fwmark 0 (no mark)", changes: egress({ fwmark: 0 }), key: "homemail:egress.fwmark", mentions: /1/ },
    { title: "egress fwmark above 31 bits", changes: egress({ fwmark: 2 ** 31 }), key: "homemail:egress.fwmark", mentions: "2147483647" },
    { title: "egress switch not a boolean", changes: egress({ enabled: "no" }), key: "homemail:egress.enabled", mentions: "boolean" },
    { title: "vps.oneToOneNat not a boolean", changes: [{ key: "homemail:vps", value: { publicIp: "203.0.113.10", oneToOneNat: "yes" } }], key: "homemail:vps.oneToOneNat", mentions: /boolean|true/ },
    { title: "unknown egress field gets a suggestion", changes: egress({ routeTabel: 100 }), key: "homemail:egress.routeTabel", mentions: "did you mean homemail:egress.routeTable" },
];

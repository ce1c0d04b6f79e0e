/** Invalid configs of the Mailu settings (issue 6): each the dev stack with one thing wrong. */
import type { InvalidCase } from "./cases";

export const MAILU_CASES: InvalidCase[] = [
    { title: "Mailu subnet too small for its containers", changes: [{ key: "homemail:mailSubnet", value: "192.168.203.0/29" }], key: "homemail:mailSubnet", mentions: "too few for Mailu" },
    { title: "Mailu data root is /", changes: [{ key: "homemail:mailu", value: { dataRoot: "/" } }], key: "homemail:mailu.dataRoot", mentions: "below /" },
    { title: "Mailu data root with a trailing slash", changes: [{ key: "homemail:mailu", value: { dataRoot: "/srv/mailu/" } }], key: "homemail:mailu.dataRoot", mentions: "trailing slash" },
    { title: "alias destination that config-import would read as a removal", changes: [{ key: "homemail:aliases", value: [{ address: "info@example.com", destinations: ["-team@elsewhere.org"] }] }], key: "homemail:aliases[0].destinations[0]", mentions: 'starts with "-"' },
    { title: "Mailu version of another release line", changes: [{ key: "homemail:mailu", value: { version: "2.0.30" } }], key: "homemail:mailu.version", mentions: "2024.06" },
    { title: "Mailu API switch not a boolean", changes: [{ key: "homemail:mailu", value: { api: "yes" } }], key: "homemail:mailu.api", mentions: "boolean" },
    { title: "token requirement not a boolean", changes: [{ key: "homemail:mailu", value: { authRequireTokens: "true" } }], key: "homemail:mailu.authRequireTokens", mentions: "boolean" },
    { title: "prune switch not a boolean", changes: [{ key: "homemail:mailu", value: { pruneRemoved: 1 } }], key: "homemail:mailu.pruneRemoved", mentions: "boolean" },
    { title: "message size limit below 1 MB", changes: [{ key: "homemail:mailu", value: { messageSizeLimitBytes: 1000 } }], key: "homemail:mailu.messageSizeLimitBytes", mentions: "1000000" },
    { title: "unknown Mailu setting (typo)", changes: [{ key: "homemail:mailu", value: { antispam: false } }], key: "homemail:mailu", mentions: 'unknown field(s) "antispam"' },
];

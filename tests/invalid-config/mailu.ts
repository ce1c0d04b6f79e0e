/** Mailu: release, data directory, optional services, size limit. */
import type { InvalidCase } from "./cases";

const root = (dataRoot: string) => [{ key: "homemail:mailu", value: { dataRoot } }];

export const MAILU_CASES: InvalidCase[] = [
    { title: "Mailu version without a patch release", changes: [{ key: "homemail:mailu", value: { version: "2024.06" } }], key: "homemail:mailu.version", mentions: "patch release" },
    { title: "Mailu version of another release line", changes: [{ key: "homemail:mailu", value: { version: "2.0.30" } }], key: "homemail:mailu.version", mentions: "2024.06" },
    { title: "Mailu version of a later line", changes: [{ key: "homemail:mailu", value: { version: "2025.03.1" } }], key: "homemail:mailu.version", mentions: "2024.06" },
    { title: "webmail not one of the choices", changes: [{ key: "homemail:mailu", value: { webmail: "rainloop" } }], key: "homemail:mailu.webmail", mentions: "snappymail" },
    { title: "Mailu API switch not a boolean", changes: [{ key: "homemail:mailu", value: { api: "yes" } }], key: "homemail:mailu.api", mentions: "boolean" },
    { title: "token requirement not a boolean", changes: [{ key: "homemail:mailu", value: { authRequireTokens: "true" } }], key: "homemail:mailu.authRequireTokens", mentions: "boolean" },
    { title: "prune switch not a boolean", changes: [{ key: "homemail:mailu", value: { pruneRemoved: 1 } }], key: "homemail:mailu.pruneRemoved", mentions: "boolean" },
    { title: "antivirus switch not a boolean", changes: [{ key: "homemail:mailu", value: { antivirus: "on" } }], key: "homemail:mailu.antivirus", mentions: "boolean" },
    { title: "message size limit below 1 MB", changes: [{ key: "homemail:mailu", value: { messageSizeLimitBytes: 1000 } }], key: "homemail:mailu.messageSizeLimitBytes", mentions: "1000000" },
    { title: "message size limit not a number", changes: [{ key: "homemail:mailu", value: { messageSizeLimitBytes: "50MB" } }], key: "homemail:mailu.messageSizeLimitBytes", mentions: "number" },
    { title: "unknown Mailu setting", changes: [{ key: "homemail:mailu", value: { antispam: false } }], key: "homemail:mailu.antispam", mentions: "is not a field of homemail:mailu" },
    { title: "Mailu setting typo gets a suggestion", changes: [{ key: "homemail:mailu", value: { webmial: "none" } }], key: "homemail:mailu.webmial", mentions: "did you mean homemail:mailu.webmail" },
    { title: "relative data root", changes: root("srv/mailu"), key: "homemail:mailu.dataRoot", mentions: "absolute path" },
    { title: "Mailu data root is /", changes: root("/"), key: "homemail:mailu.dataRoot", mentions: "root directory" },
    { title: "Mailu data root is /. (the root, normalised)", changes: root("/."), key: "homemail:mailu.dataRoot", mentions: "root directory" },
    { title: "Mailu data root is //", changes: root("//"), key: "homemail:mailu.dataRoot", mentions: "root directory" },
    { title: "Mailu data root is /etc", changes: root("/etc"), key: "homemail:mailu.dataRoot", mentions: "system directory /etc" },
    { title: "Mailu data root is /var", changes: root("/var"), key: "homemail:mailu.dataRoot", mentions: "system directory /var" },
    { title: "Mailu data root is /usr/", changes: root("/usr/"), key: "homemail:mailu.dataRoot", mentions: "system directory /usr" },
    { title: "Mailu data root is /srv", changes: root("/srv"), key: "homemail:mailu.dataRoot", mentions: "system directory /srv" },
    { title: "Mailu data root with a trailing slash", changes: root("/srv/mailu/"), key: "homemail:mailu.dataRoot", mentions: "write it as /srv/mailu" },
    { title: "Mailu data root with /./", changes: root("/srv/./mailu"), key: "homemail:mailu.dataRoot", mentions: "write it as /srv/mailu" },
    { title: "Mailu data root under /tmp", changes: root("/tmp/mailu"), key: "homemail:mailu.dataRoot", mentions: "emptied at reboot" },
    { title: "Mailu data root with a space", changes: root("/srv/my mail"), key: "homemail:mailu.dataRoot", mentions: "absolute path" },
    { title: "alias destination that config-import would read as a removal", changes: [{ key: "homemail:aliases", value: [{ address: "info@example.com", destinations: ["-team@elsewhere.org"] }] }], key: "homemail:aliases[0].destinations[0]", mentions: 'starts with "-"' },
];

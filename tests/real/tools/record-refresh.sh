#!/usr/bin/env bash
# Records what the real Pulumi CLI (tests/real/tools/build.sh) prints for
# `pulumi refresh --preview-only`, for the doctor's drift judge (scripts/lib/doctor/checks/drift.ts)
# and its unit tests (tests/unit/doctorDrift.test.ts):
#   no-change.events.jsonl   the event log (--event-log, as the Automation API asks for it) when the
#                            live state matches
#   changed.events.jsonl     the same after one resource changed outside Pulumi and one was removed
#   changed.json             `--json` of that same state (its steps do not tell the update apart)
#
#   tests/real/tools/record-refresh.sh [OUT_DIR]     default OUT_DIR: tests/fixtures/pulumi-refresh
#   tests/real/tools/record-refresh.sh --keep DIR    leave the project and its state in DIR (changed)
#
# The project: a local file backend, two resources of the Node SDK's dynamic provider standing for
# host files (read: the file's content, or gone), one secret config value and a secret output. The
# script fails if that secret's clear text is in any recording. Needs node and the repo's
# node_modules; no network, no root.
set -Eeuo pipefail

repo=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../../.." && pwd)
cache=${HOMEMAIL_TOOLS_CACHE:-$HOME/.cache/homemail-tools}
keep=""
if [[ ${1:-} == --keep ]]; then
    keep=${2:?--keep needs a directory}
    out=$keep/recordings
else
    out=${1:-$repo/tests/fixtures/pulumi-refresh}
fi
for tool in pulumi pulumi-language-nodejs; do
    [[ -x $cache/bin/$tool ]] || { echo "record-refresh: $cache/bin/$tool missing: run tests/real/tools/build.sh" >&2; exit 1; }
done

if [[ -n $keep ]]; then
    mkdir -p "$keep"
    work=$(cd "$keep" && pwd)
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/hm-refresh-XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"/{bin,project,state,pulumi-home,files} "$out"
ln -sf "$cache/bin/pulumi" "$cache/bin/pulumi-language-nodejs" "$work/bin/"
# What the Pulumi distribution's own pulumi-resource-pulumi-nodejs script does.
printf '#!/bin/sh\nexec node ./node_modules/@pulumi/pulumi/cmd/dynamic-provider "$@"\n' >"$work/bin/pulumi-resource-pulumi-nodejs"
chmod 0755 "$work/bin/pulumi-resource-pulumi-nodejs"

cd "$work/project"
ln -sfn "$repo/node_modules" node_modules
printf 'name: drift\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n' >Pulumi.yaml
printf '{"name":"drift","private":true,"main":"index.js"}\n' >package.json
cat >index.js <<'EOF'
"use strict";
const pulumi = require("@pulumi/pulumi");
const fs = require("fs");
const cfg = new pulumi.Config();
/** A file as a provider sees it: read returns its content now, or nothing when it is gone. */
const hostFile = {
    async create(inputs) { fs.writeFileSync(inputs.path, inputs.content); return { id: inputs.path, outs: inputs }; },
    async read(id, props) { return fs.existsSync(id) ? { id, props: { ...props, content: fs.readFileSync(id, "utf8") } } : { id: undefined, props: undefined }; },
    async diff(id, olds, news) { return { changes: olds.content !== news.content }; },
    async delete(id) { fs.rmSync(id, { force: true }); },
};
class HostFile extends pulumi.dynamic.Resource {
    constructor(name, args, opts) { super(hostFile, name, args, opts); }
}
new HostFile("motd", { path: cfg.require("dir") + "/motd", content: "homemail\n" });
new HostFile("issue", { path: cfg.require("dir") + "/issue", content: "Debian GNU/Linux 12\n" });
exports.token = cfg.requireSecret("token");
EOF

export PATH="$work/bin:$repo/node_modules/.bin:$PATH" PULUMI_HOME="$work/pulumi-home" PULUMI_CONFIG_PASSPHRASE="record-refresh passphrase"
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true PULUMI_BACKEND_URL="file://$work/state" NO_COLOR=1
secret="record-refresh-secret-$$-$RANDOM"
pulumi stack init lab --non-interactive >/dev/null
pulumi config set dir "$work/files" --non-interactive
printf '%s' "$secret" | pulumi config set --secret token --non-interactive
pulumi up --yes --skip-preview --non-interactive >/dev/null

preview() { PULUMI_DEBUG_COMMANDS=true pulumi refresh --preview-only --stack lab --non-interactive --event-log "$1" >/dev/null; }
preview "$out/no-change.events.jsonl"
printf 'edited by hand\n' >"$work/files/motd"
rm "$work/files/issue"
preview "$out/changed.events.jsonl"
pulumi refresh --preview-only --stack lab --non-interactive --json >"$out/changed.json"

if grep -rlF -- "$secret" "$out"; then
    echo "record-refresh: the secret config value is in the recordings above" >&2
    exit 1
fi
echo "record-refresh: $(pulumi version) -> $out"

#!/usr/bin/env bash
# managed by homemail, do not edit
#
# Makes sure this host has its WireGuard private key and prints the matching public key, nothing
# else: the public key is the only thing that leaves the host (it becomes the Pulumi command's
# stdout and the peer's PublicKey).
#
# Usage: ensure-key.sh [KEY_FILE]   (default /etc/wireguard/wg0.key)
#
# The key is generated once. A run that finds a key keeps it, so re-running this step (a config
# change, a replaced Pulumi resource) never rotates the key by accident; rotating is a deliberate
# `rm KEY_FILE` before the run.
set -Eeuo pipefail

key_file=${1:-/etc/wireguard/wg0.key}

command -v wg >/dev/null 2>&1 || {
    echo "ensure-key: wg not found: install wireguard-tools" >&2
    exit 1
}

# Files created from here on are private from birth (no window in which the key is readable).
umask 077
mkdir -p -- "$(dirname -- "$key_file")"

if [[ ! -s $key_file ]]; then
    staged=$(mktemp "$key_file.XXXXXX")
    trap 'rm -f -- "$staged"' EXIT
    wg genkey >"$staged"
    # rename(2) is atomic: an interrupted run leaves either no key or a whole one.
    mv -- "$staged" "$key_file"
    trap - EXIT
fi
chmod 0600 -- "$key_file"

wg pubkey <"$key_file"

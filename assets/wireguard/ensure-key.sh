#!/usr/bin/env bash
# managed by homemail, do not edit
#
# Makes sure this host has its WireGuard private key for the configured key epoch and prints the
# matching public key, nothing else: the public key is the only thing that leaves the host (it
# becomes the Pulumi command's stdout and the peer's PublicKey).
#
# Usage: ensure-key.sh [KEY_FILE [EPOCH]]   (defaults /etc/wireguard/wg0.key and 0)
#
# The epoch (homemail:wireguard.keyEpoch) is recorded next to the key, in KEY_FILE.epoch. A run with
# the recorded epoch keeps the key, so re-running this step never rotates it by accident; a run with
# another epoch makes a new key (0600) in place of the old one. A key from before epochs were recorded
# counts as epoch 0.
set -Eeuo pipefail

key_file=${1:-/etc/wireguard/wg0.key}
epoch=${2:-0}
epoch_file=$key_file.epoch

[[ $epoch =~ ^[0-9]+$ ]] || {
    echo "ensure-key: epoch '$epoch' is not a whole number" >&2
    exit 2
}
command -v wg >/dev/null 2>&1 || {
    echo "ensure-key: wg not found: install wireguard-tools" >&2
    exit 1
}

# Files created from here on are private from birth (no window in which the key is readable).
umask 077
mkdir -p -- "$(dirname -- "$key_file")"

recorded=
if [[ -s $epoch_file ]]; then
    recorded=$(<"$epoch_file")
elif [[ -s $key_file ]]; then
    recorded=0
fi

staged=
trap 'rm -f -- "$staged"' EXIT
if [[ ! -s $key_file || $recorded != "$epoch" ]]; then
    staged=$(mktemp "$key_file.XXXXXX")
    wg genkey >"$staged"
    # rename(2) is atomic: an interrupted run leaves the old key or the new one, whole. The old key
    # is gone once the new one is in place (same inode name, no copy left behind).
    mv -- "$staged" "$key_file"
    staged=
fi
if [[ $recorded != "$epoch" || ! -s $epoch_file ]]; then
    staged=$(mktemp "$epoch_file.XXXXXX")
    printf '%s\n' "$epoch" >"$staged"
    mv -- "$staged" "$epoch_file"
    staged=
fi
chmod 0600 -- "$key_file" "$epoch_file"

wg pubkey <"$key_file"

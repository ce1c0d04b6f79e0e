#!/usr/bin/env bash
# Builds the lab's Debian base image as a root file system tarball (debootstrap minbase plus
# base-packages.txt) into a cache outside the repository, once per package list, and prints its path.
# Root only (debootstrap). Concurrent runs wait for each other (flock).
#   build-base.sh [PACKAGE_LIST]        cache: $HOMEMAIL_LAB_CACHE or ~/.cache/homemail-lab
set -Eeuo pipefail
here=$(cd "$(dirname "$0")" && pwd)
list=${1:-$here/base-packages.txt}
suite=bookworm
mirror=http://deb.debian.org/debian
cache=${HOMEMAIL_LAB_CACHE:-$HOME/.cache/homemail-lab}

key=$( { printf '%s %s\n' "$suite" "$mirror"; grep -v '^\s*#' "$list" | grep -v '^\s*$' | sort; sha256sum < "$0"; } | sha256sum | cut -c1-16)
out=$cache/base-$suite-$key.tar
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
exec 9>"$cache/base.lock"
flock 9
if [ -s "$out" ]; then
  echo "$out"
  exit 0
fi

tmp=$(mktemp -d "$cache/base.XXXXXX")
cleanup() {
  # debootstrap mounts /proc and /sys in the target; never delete through a mount.
  { findmnt -rn -o TARGET | grep -F "$tmp/" || true; } | sort -r | while read -r m; do umount -l "$m" || true; done
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

include=$(grep -v '^\s*#' "$list" | grep -v '^\s*$' | sort | paste -sd, -)
started=$(date +%s)
if ! debootstrap --variant=minbase ${include:+"--include=$include"} "$suite" "$tmp/root" "$mirror" > "$tmp/log" 2>&1; then
  tail -n 30 "$tmp/log" >&2
  echo "build-base: debootstrap failed (log above)" >&2
  exit 1
fi
# Downloaded packages and apt lists only make the image bigger.
rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*
tar --numeric-owner -C "$tmp/root" -cf "$out.partial" .
mv "$out.partial" "$out"
# Bases of earlier package lists are never used again.
find "$cache" -maxdepth 1 -name "base-$suite-*.tar" ! -path "$out" -delete
echo "build-base: $out in $(( $(date +%s) - started )) s ($(du -m "$out" | cut -f1) MB)" >&2
echo "$out"

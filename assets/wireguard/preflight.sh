#!/usr/bin/env bash
# managed by homemail, do not edit
#
# Host preflight for WireGuard and the SMTP egress policy: stops with a message that says what to
# fix when a tool is missing or when iptables would write to a different backend than Docker.
#
# Usage: preflight.sh   (exit 0: ready; exit 1: one "preflight: ..." line per problem on stderr)
#
# Why the backend matters: iptables-nft and iptables-legacy keep separate rule sets. If this host's
# `iptables` is nft while Docker programs legacy (or the reverse), our DOCKER-USER/raw/nat rules
# land in a table Docker's never meet: they look right in `iptables -S` and do nothing.
set -Eeuo pipefail

problems=0
problem() {
    printf 'preflight: %s\n' "$*" >&2
    problems=$((problems + 1))
}

# command:Debian package that provides it
for tool in wg:wireguard-tools wg-quick:wireguard-tools iptables:iptables ip:iproute2 flock:util-linux; do
    name=${tool%%:*}
    package=${tool#*:}
    command -v "$name" >/dev/null 2>&1 || problem "$name not found: install the $package package"
done

# Which backend does `iptables` use? Its version line ends in "(nf_tables)" or "(legacy)".
backend_of() {
    local version
    version=$("$1" --version 2>/dev/null) || return 1
    case $version in
    *nf_tables*) echo nft ;;
    *legacy*) echo legacy ;;
    *) echo legacy ;; # iptables before 1.8 had only the legacy backend and did not say so
    esac
}

# Does the rule set of one backend contain Docker's chains? (iptables-<backend>-save lists them.)
docker_chains_in() {
    local saver="iptables-$1-save"
    command -v "$saver" >/dev/null 2>&1 || return 1
    "$saver" 2>/dev/null | grep -Eq '^:DOCKER(-USER)? '
}

if command -v iptables >/dev/null 2>&1; then
    ours=$(backend_of iptables) || ours=unknown
    case $ours in
    nft) other=legacy ;;
    legacy) other=nft ;;
    *) other=none ;;
    esac
    if [[ $other != none ]] && docker_chains_in "$other" && ! docker_chains_in "$ours"; then
        problem "iptables here uses the $ours backend but Docker's chains are in the $other backend:" \
            "select the same one for both (update-alternatives --set iptables /usr/sbin/iptables-$other," \
            "or switch Docker's), then restart Docker"
    fi
fi

if ((problems > 0)); then
    exit 1
fi
echo "preflight: ok (iptables backend: ${ours:-unknown})"

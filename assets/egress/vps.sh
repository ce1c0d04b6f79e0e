#!/usr/bin/env bash
# managed by homemail, do not edit
#
# homemail-smtp-egress, VPS variant: Mailu's outbound SMTP arrives from home through WireGuard
# with a Mailu-subnet source address; forward it to the Internet and SNAT it to the VPS public IP
# (the address whose PTR names the mail host). Nothing else from home is translated.
#
# Usage: homemail-smtp-egress enable|reapply|disable|status|verify  (same contract as the home
# variant: enable is idempotent, disable replays the ledger, status/verify only read, verify exits
# 1 on drift)
#
# The FORWARD accepts for this flow (wg0 -> WAN tcp/25 from the Mailu subnet, WAN -> wg0 replies
# only) belong to the hub's wg0.conf PostUp: they exist exactly while the tunnel does. This script
# adds what turns forwarding into egress: ip_forward, the SNAT and MSS clamping.
#
# Settings come from /etc/homemail/smtp-egress.env (override the path with HOMEMAIL_EGRESS_ENV),
# one KEY=value a line:
#   HOMEMAIL_STATE_DIR        where enable records what it changed (default
#                             /var/lib/homemail/smtp-egress); see smtp-egress-lib.sh
#   HOMEMAIL_WG_INTERFACE     the WireGuard interface towards home, e.g. wg0
#   HOMEMAIL_WG_MTU           its MTU, e.g. 1420 (sets the MSS of SYNs coming out of the tunnel)
#   HOMEMAIL_WAN_INTERFACE    the interface facing the Internet, e.g. eth0
#   HOMEMAIL_MAILU_SUBNET     Mailu's Docker network at home, e.g. 192.168.203.0/24
#   HOMEMAIL_PUBLIC_IP        the VPS public IPv4 mail must leave from, e.g. 203.0.113.10
#   HOMEMAIL_ONE_TO_ONE_NAT   true when the provider maps the public IP 1:1 onto the VPS, so that
#                             it is on no interface here: mail is then SNATed to the WAN
#                             interface's own address (MASQUERADE), which the provider translates;
#                             false (default): the WAN interface must carry HOMEMAIL_PUBLIC_IP
set -Eeuo pipefail

# shellcheck source=lib.sh
source "${HOMEMAIL_EGRESS_LIB:-/usr/local/lib/homemail/smtp-egress-lib.sh}"

readonly SMTP_PORT=25
# IPv4 (20) + TCP (20) header bytes between an MTU and the MSS that fits it.
readonly TCP_IPV4_HEADERS=40

load_settings() {
    load_env_file
    require_env HOMEMAIL_WG_INTERFACE "$INTERFACE_PATTERN" "an interface name"
    require_env HOMEMAIL_WG_MTU "$NUMBER_PATTERN" "a decimal number"
    require_env HOMEMAIL_WAN_INTERFACE "$INTERFACE_PATTERN" "an interface name"
    require_env HOMEMAIL_MAILU_SUBNET "$IPV4_CIDR_PATTERN" "an IPv4 CIDR"
    require_env HOMEMAIL_PUBLIC_IP "$IPV4_PATTERN" "an IPv4 address"
    HOMEMAIL_ONE_TO_ONE_NAT=${HOMEMAIL_ONE_TO_ONE_NAT:-false}
    require_env HOMEMAIL_ONE_TO_ONE_NAT '^(true|false)$' "true or false"
    wg=$HOMEMAIL_WG_INTERFACE
    wan=$HOMEMAIL_WAN_INTERFACE
    subnet=$HOMEMAIL_MAILU_SUBNET
    public_ip=$HOMEMAIL_PUBLIC_IP
    tunnel_mss=$((HOMEMAIL_WG_MTU - TCP_IPV4_HEADERS))
    one_to_one_nat=$HOMEMAIL_ONE_TO_ONE_NAT
}

# The IPv4 addresses of an interface, one a line, without prefix length.
ipv4_addresses() {
    ip -4 -o address show dev "$1" 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }'
}

# The interface holding an IPv4 address, if any.
interface_with() {
    ip -4 -o address show 2>/dev/null | awk -v ip="$1" '{ split($4, a, "/"); if (a[1] == ip) { print $2; exit } }'
}

# vps.wanInterface exists and carries vps.publicIp (or, with 1:1 NAT, an address to SNAT to).
# Before the first change in enable; reported by verify. Without this, mail would leave with another
# source address (or not at all) while everything else looks fine.
check_wan() {
    if ! ip -o link show dev "$wan" >/dev/null 2>&1; then
        local names route_dev
        names=$(ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); printf "%s ", $2 }')
        route_dev=$(ip -4 route show default 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
        drift_or_die "homemail:vps.wanInterface: interface $wan does not exist on this VPS (it has: ${names% }); set it to the interface of the default route${route_dev:+ ($route_dev)}"
        return 0
    fi
    local addresses
    addresses=$(ipv4_addresses "$wan")
    if [[ $one_to_one_nat == true ]]; then
        [[ -n $addresses ]] || drift_or_die "homemail:vps.wanInterface: $wan has no IPv4 address to SNAT to (homemail:vps.oneToOneNat is true)"
        if grep -Fxq -- "$public_ip" <<<"$addresses"; then
            drift_or_warn "homemail:vps.oneToOneNat is true, but $wan carries $public_ip itself: set homemail:vps.oneToOneNat false"
        fi
        return 0
    fi
    if ! grep -Fxq -- "$public_ip" <<<"$addresses"; then
        local holder hint
        holder=$(interface_with "$public_ip")
        if [[ -n $holder ]]; then
            hint="it is on $holder: set homemail:vps.wanInterface $holder"
        else
            hint="if the provider maps the public IP 1:1 onto this VPS (it is on no interface here), set homemail:vps.oneToOneNat true; otherwise correct homemail:vps.publicIp"
        fi
        drift_or_die "homemail:vps.publicIp: $public_ip is not an address of $wan (it has: $(tr '\n' ' ' <<<"${addresses:-none}" | sed 's/ $//')); mail would leave from another address and fail SPF; $hint"
    fi
}

desired_state() {
    check_wan
    want_sysctl net/ipv4/ip_forward 1

    # Ahead of any generic MASQUERADE (Docker's, an admin's): this flow leaves as the public IP
    # (with 1:1 NAT: as the interface's address, which the provider translates to the public IP).
    local snat=(-j SNAT --to-source "$public_ip")
    if [[ $one_to_one_nat == true ]]; then
        snat=(-j MASQUERADE)
    fi
    want_rule nat POSTROUTING first -o "$wan" -s "$subnet" -p tcp --dport "$SMTP_PORT" "${TAG[@]}" "${snat[@]}"

    # MSS clamping both ways, so that no full-size segment meets the 1420-byte tunnel:
    # - the container's SYN (sent with the MSS of its 1500-byte bridge) leaves by the WAN, whose
    #   path MTU says nothing about the tunnel, so set the tunnel's MSS explicitly (TCPMSS only
    #   ever lowers an MSS);
    # - the MX's SYN-ACK goes into wg0, whose MTU the route knows: clamp to the path MTU.
    want_rule mangle FORWARD any -i "$wg" -o "$wan" -s "$subnet" -p tcp --dport "$SMTP_PORT" --tcp-flags SYN,RST SYN "${TAG[@]}" -j TCPMSS --set-mss "$tunnel_mss"
    want_rule mangle FORWARD any -i "$wan" -o "$wg" -d "$subnet" -p tcp --sport "$SMTP_PORT" --tcp-flags SYN,RST SYN "${TAG[@]}" -j TCPMSS --clamp-mss-to-pmtu

    interface_up "$wg" || drift_or_warn "$wg is down or absent: no SMTP egress until it is up"
}

show_status() {
    note "== egress: $(is_enabled && echo enabled || echo disabled) (state: $HOMEMAIL_STATE_DIR)"
    note "== ip_forward=$(</proc/sys/net/ipv4/ip_forward)"
    note "== interfaces"
    ip -br address show dev "$wan" 2>&1 || true
    ip -br address show dev "$wg" 2>&1 || true
    local t
    for t in filter mangle nat; do
        note "== iptables -t $t (rules tagged $EGRESS_RULE_TAG or touching $subnet)"
        ipt -t "$t" -S | grep -F -e "$EGRESS_RULE_TAG" -e "$subnet" || true
    done
    note "== ledger"
    cat -- "$(state_ledger)" 2>/dev/null || true
}

# One line for the log after a successful enable.
enabled_summary() {
    if [[ $one_to_one_nat == true ]]; then
        note "enabled: tcp/$SMTP_PORT from $subnet via $wg leaves $wan as its own address (1:1 NAT to $public_ip by the provider)"
    else
        note "enabled: tcp/$SMTP_PORT from $subnet via $wg leaves $wan as $public_ip"
    fi
}

egress_main "$@"

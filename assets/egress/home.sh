#!/usr/bin/env bash
# managed by homemail, do not edit
#
# homemail-smtp-egress, home variant: send Mailu's outbound SMTP (tcp/25 from the Mailu Docker
# subnet) through the WireGuard tunnel to the VPS, which SNATs it to its public IP. Everything
# else, including the home host's own SMTP and the containers' other traffic, keeps using the
# home Internet connection.
#
# Usage: homemail-smtp-egress enable|reapply|disable|status|verify
#   enable   apply the policy; running it again changes nothing unless something drifted (then it
#            repairs: Docker re-creates its rules on restart, wg0 loses its routes when it goes down)
#   reapply  enable, but only if egress is enabled (a ledger exists); called by the wg-quick PostUp
#            hook and the systemd unit that runs after docker.service and wg-quick@wg0
#   disable  undo exactly what enable recorded in the state directory and restore the sysctls it
#            found, whatever the env file says now
#   status   show the relevant rules, routes and the ledger (read-only)
#   verify   compare the host with the env file; exit 1 and print `drift:` lines on any difference
#            (read-only)
#
# Settings come from /etc/homemail/smtp-egress.env (override the path with HOMEMAIL_EGRESS_ENV),
# one KEY=value a line:
#   HOMEMAIL_STATE_DIR             where enable records what it changed (default
#                                  /var/lib/homemail/smtp-egress); see smtp-egress-lib.sh
#   HOMEMAIL_WG_INTERFACE          the WireGuard interface towards the VPS, e.g. wg0
#   HOMEMAIL_MAILU_SUBNET          Mailu's Docker network, e.g. 192.168.203.0/24
#   HOMEMAIL_MAILU_BRIDGE          its bridge interface (compose driver_opts), e.g. br-mailu
#   HOMEMAIL_EGRESS_FWMARK         decimal firewall mark for Mailu's SMTP packets, e.g. 25
#   HOMEMAIL_EGRESS_TABLE          routing table number those packets use, e.g. 100
#   HOMEMAIL_EGRESS_RULE_PRIORITY  priority of the `ip rule` selecting that table, e.g. 10025
#
# Fail-closed: the table holds, besides `default dev <wg>`, an `unreachable default` of the largest
# metric. When wg0 goes down the kernel deletes the wg route, the unreachable one remains, and a
# marked packet gets "no route" instead of falling through to the main table and leaving by the
# home WAN (where the ISP blocks it, or worse, where it does not and the MX sees the home IP).
set -Eeuo pipefail

# shellcheck source=lib.sh
source "${HOMEMAIL_EGRESS_LIB:-/usr/local/lib/homemail/smtp-egress-lib.sh}"

readonly SMTP_PORT=25
# Largest route metric: the fallback loses to any real route in the table.
readonly FAIL_CLOSED_METRIC=4294967295

load_settings() {
    load_env_file
    require_env HOMEMAIL_WG_INTERFACE "$INTERFACE_PATTERN" "an interface name"
    require_env HOMEMAIL_MAILU_SUBNET "$IPV4_CIDR_PATTERN" "an IPv4 CIDR"
    require_env HOMEMAIL_MAILU_BRIDGE "$INTERFACE_PATTERN" "an interface name"
    require_env HOMEMAIL_EGRESS_FWMARK "$NUMBER_PATTERN" "a decimal number"
    require_env HOMEMAIL_EGRESS_TABLE "$NUMBER_PATTERN" "a decimal number"
    require_env HOMEMAIL_EGRESS_RULE_PRIORITY "$NUMBER_PATTERN" "a decimal number"
    wg=$HOMEMAIL_WG_INTERFACE
    subnet=$HOMEMAIL_MAILU_SUBNET
    bridge=$HOMEMAIL_MAILU_BRIDGE
    table=$HOMEMAIL_EGRESS_TABLE
    priority=$HOMEMAIL_EGRESS_RULE_PRIORITY
    mark_hex=$(printf '0x%x' "$HOMEMAIL_EGRESS_FWMARK")
}

# The desired state, in the order enable builds it. Each want_* applies (enable) or checks
# (verify) one piece. The routes come before the ip rule so that no marked packet ever meets an
# empty table and falls back to the main one.
desired_state() {
    # Containers' packets are forwarded (Docker normally has this on already).
    want_sysctl net/ipv4/ip_forward 1
    # Replies from the MX arrive on wg0, but the main table routes the MX via the home WAN: strict
    # reverse-path filtering would drop them. Loose mode (2) only asks that the source be routable.
    want_sysctl "net/ipv4/conf/$wg/rp_filter" 2

    # Docker's hairpin guard drops, in raw PREROUTING, any packet for a container that did not come
    # in on the container's bridge. The SMTP replies come in on wg0: let them pass before those
    # drops. raw runs before conntrack, so this can only be narrowed by interface, port and subnet.
    want_rule raw PREROUTING first -i "$wg" -d "$subnet" -p tcp --sport "$SMTP_PORT" "${TAG[@]}" -j ACCEPT

    # Mark only Mailu's outbound SMTP; the mark selects the policy rule below. PREROUTING does not
    # see the host's own traffic (OUTPUT), so the host's SMTP is never marked.
    want_rule mangle PREROUTING any -i "$bridge" -s "$subnet" -p tcp --dport "$SMTP_PORT" "${TAG[@]}" -j MARK --set-mark "$mark_hex"

    # Docker's FORWARD chain jumps to DOCKER-USER first: accept the flow out to wg0 and only its
    # replies back, ahead of whatever else sits there.
    want_rule filter DOCKER-USER first -i "$wg" -o "$bridge" -d "$subnet" -m conntrack --ctstate ESTABLISHED,RELATED "${TAG[@]}" -j ACCEPT
    want_rule filter DOCKER-USER first -i "$bridge" -o "$wg" -s "$subnet" -p tcp --dport "$SMTP_PORT" "${TAG[@]}" -j ACCEPT

    # Docker masquerades its subnet on every interface but the bridge. The VPS must see the
    # container's own address (its SNAT matches the Mailu subnet, and its wg peer accepts it), so
    # skip NAT for this flow on wg0.
    want_rule nat POSTROUTING first -o "$wg" -s "$subnet" -p tcp --dport "$SMTP_PORT" "${TAG[@]}" -j ACCEPT

    want_route "$table" "unreachable default metric $FAIL_CLOSED_METRIC" unreachable default metric "$FAIL_CLOSED_METRIC"
    if interface_up "$wg"; then
        want_route "$table" "default dev $wg scope link" default dev "$wg"
    else
        drift_or_warn "$wg is down or absent: SMTP egress fails closed until it is up (its wg-quick PostUp re-applies)"
    fi
    want_ip_rule "$priority" "$mark_hex" "$table"
}

show_status() {
    note "== egress: $(is_enabled && echo enabled || echo disabled) (state: $HOMEMAIL_STATE_DIR)"
    note "== ip rule"
    ip -4 rule show
    note "== ip route table $table"
    ip -4 route show table "$table"
    note "== $wg"
    ip -br link show dev "$wg" 2>&1 || true
    local t
    for t in raw mangle filter nat; do
        note "== iptables -t $t (rules tagged $EGRESS_RULE_TAG)"
        ipt -t "$t" -S | grep -F -- "$EGRESS_RULE_TAG" || true
    done
    note "== ledger"
    cat -- "$(state_ledger)" 2>/dev/null || true
}

# One line for the log after a successful enable.
enabled_summary() {
    note "enabled: tcp/$SMTP_PORT from $subnet -> fwmark $mark_hex -> table $table -> $wg"
}

egress_main "$@"

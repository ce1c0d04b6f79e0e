#!/usr/bin/env bash
# managed by homemail, do not edit
#
# homemail-gateway-firewall: the VPS host firewall of the homemail gateway.
#
#   homemail-gateway-firewall enable    build the chain and jump to it from INPUT (no-op when in place)
#   homemail-gateway-firewall disable   remove exactly what enable added
#   homemail-gateway-firewall status    show the state (read-only)
#   homemail-gateway-firewall verify    exit 1 if the live rules differ from what enable applied (read-only)
#
# Inbound traffic goes through one chain of its own ($HOMEMAIL_FW_CHAIN, default HOMEMAIL-IN),
# jumped to from the top of INPUT: loopback, established/related flows, the TCP ports of the port
# table and SSH, and the WireGuard UDP port are accepted; everything else is dropped. INPUT's policy
# is never touched, so a half-applied run cannot lock anyone out: the chain and its jump are written
# in ONE iptables-restore transaction (all or nothing), and a chain nobody jumps to filters nothing.
# The SSH port must be in the TCP list or enable refuses to run. Traefik and HAProxy use the host
# network, so the chain applies to them; forwarded traffic (the WireGuard SNAT path) is not INPUT.
#
# IPv6: the same chain name in ip6tables, jumped to from ip6tables' INPUT, accepts only loopback,
# established flows, the neighbour-discovery messages IPv6 cannot work without (hop limit 255, so
# only from the link), SSH and WireGuard; the design publishes nothing else over IPv6 (Traefik and
# HAProxy bind IPv4 addresses), and most VPS images have a global IPv6 that would otherwise reach
# every listener. Skipped when the kernel has no IPv6 (/proc/net/if_inet6 absent).
#
# Settings: KEY=value lines in $HOMEMAIL_GATEWAY_FIREWALL_ENV (default
# /etc/homemail/gateway-firewall.env), parsed, never sourced:
#   HOMEMAIL_FW_CHAIN       chain name
#   HOMEMAIL_FW_SSH_PORT    the SSH port (must also be in HOMEMAIL_FW_TCP_PORTS)
#   HOMEMAIL_FW_TCP_PORTS   comma-separated TCP ports to accept
#   HOMEMAIL_FW_UDP_PORTS   comma-separated UDP ports to accept (WireGuard)
#   HOMEMAIL_STATE_DIR      where enable records what it added (default /var/lib/homemail/gateway-firewall)
#
# State directory (on disk: rules vanish at reboot, the record must not):
#   ledger         `# homemail-gateway-firewall ledger v1`, then one TAB-separated line per object
#                  enable created, written just BEFORE creating it: `chain filter <chain>` and
#                  `jump filter INPUT <chain>` (iptables), `chain6 filter <chain>` and
#                  `jump6 filter INPUT <chain>` (ip6tables). disable checks every line against the
#                  settings and removes exactly these, in reverse order.
#   applied.spec   the desired rule text enable last applied (from the env file)
#   applied.rules  `iptables -S <chain>` (and `ip6tables -S <chain>`) right after that apply
#   lock           flock(1) file (the boot unit and a deploy may run at once)
# status and verify only read: they never create the directory or take the lock.
set -Eeuo pipefail

readonly TAG="homemail-gateway-firewall"
readonly LEDGER_HEADER="# homemail-gateway-firewall ledger v1"
readonly TAB=$'\t'
env_file="${HOMEMAIL_GATEWAY_FIREWALL_ENV:-/etc/homemail/gateway-firewall.env}"

die() { printf '%s: error: %s\n' "$TAG" "$*" >&2; exit 1; }
note() { printf '%s\n' "$*"; }

load_env() {
    [[ -r $env_file ]] || die "cannot read $env_file (set HOMEMAIL_GATEWAY_FIREWALL_ENV to use another file)"
    local line number=0
    while IFS= read -r line || [[ -n $line ]]; do
        number=$((number + 1))
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        [[ $line =~ ^(HOMEMAIL_[A-Z0-9_]+)=(.*)$ ]] || die "$env_file line $number: expected HOMEMAIL_KEY=value, got: $line"
        printf -v "${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
    done <"$env_file"
    HOMEMAIL_FW_CHAIN=${HOMEMAIL_FW_CHAIN:-HOMEMAIL-IN}
    HOMEMAIL_STATE_DIR=${HOMEMAIL_STATE_DIR:-/var/lib/homemail/gateway-firewall}
    require HOMEMAIL_FW_CHAIN '^[A-Z][A-Z0-9-]{0,27}$' "a chain name (capitals, digits, dashes)"
    require HOMEMAIL_FW_SSH_PORT '^[0-9]{1,5}$' "a port number"
    require HOMEMAIL_FW_TCP_PORTS '^[0-9]{1,5}(,[0-9]{1,5})*$' "a comma-separated port list"
    require HOMEMAIL_FW_UDP_PORTS '^[0-9]{1,5}(,[0-9]{1,5})*$' "a comma-separated port list"
    require HOMEMAIL_STATE_DIR '^/[A-Za-z0-9._/-]+$' "an absolute path"
    local port
    for port in ${HOMEMAIL_FW_TCP_PORTS//,/ } ${HOMEMAIL_FW_UDP_PORTS//,/ }; do
        ((port >= 1 && port <= 65535)) || die "$env_file: port $port is out of range"
    done
    [[ ",$HOMEMAIL_FW_TCP_PORTS," == *",$HOMEMAIL_FW_SSH_PORT,"* ]] ||
        die "$env_file: the SSH port $HOMEMAIL_FW_SSH_PORT is not in HOMEMAIL_FW_TCP_PORTS; refusing to lock SSH out"
    readonly CHAIN=$HOMEMAIL_FW_CHAIN STATE=$HOMEMAIL_STATE_DIR
}

# require NAME REGEX DESCRIPTION
require() {
    local name=$1 pattern=$2 what=$3
    [[ -n ${!name:-} ]] || die "$env_file: $name is not set (expected $what)"
    [[ ${!name} =~ $pattern ]] || die "$env_file: $name=${!name} is not $what"
}

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install iptables (the gateway preflight step checks this)"
    done
}

# multiport takes at most 15 ports per rule: prints the list in chunks, one per line.
chunks() {
    local -a ports
    IFS=, read -r -a ports <<<"$1"
    local i
    for ((i = 0; i < ${#ports[@]}; i += 15)); do
        local IFS=,
        printf '%s\n' "${ports[*]:i:15}"
    done
}

# IPv6 is filtered wherever the kernel has it.
ipv6() { [[ -e /proc/net/if_inet6 ]]; }

# The chain's rules as iptables-restore lines (the desired state, from the env file only).
desired_rules() {
    local c="-m comment --comment $TAG" ports
    printf -- '-A %s -i lo %s -j ACCEPT\n' "$CHAIN" "$c"
    printf -- '-A %s -m conntrack --ctstate RELATED,ESTABLISHED %s -j ACCEPT\n' "$CHAIN" "$c"
    printf -- '-A %s -m conntrack --ctstate INVALID %s -j DROP\n' "$CHAIN" "$c"
    while IFS= read -r ports; do
        printf -- '-A %s -p tcp -m multiport --dports %s %s -j ACCEPT\n' "$CHAIN" "$ports" "$c"
    done < <(chunks "$HOMEMAIL_FW_TCP_PORTS")
    while IFS= read -r ports; do
        printf -- '-A %s -p udp -m multiport --dports %s %s -j ACCEPT\n' "$CHAIN" "$ports" "$c"
    done < <(chunks "$HOMEMAIL_FW_UDP_PORTS")
    printf -- '-A %s %s -j DROP\n' "$CHAIN" "$c"
}

# The IPv6 chain: only SSH and WireGuard. Neighbour discovery comes before the INVALID drop
# (conntrack does not track it) and only from the link itself (hop limit 255, RFC 4861).
desired_rules6() {
    local c="-m comment --comment $TAG" ports type
    printf -- '-A %s -i lo %s -j ACCEPT\n' "$CHAIN" "$c"
    printf -- '-A %s -m conntrack --ctstate RELATED,ESTABLISHED %s -j ACCEPT\n' "$CHAIN" "$c"
    for type in router-solicitation router-advertisement neighbour-solicitation neighbour-advertisement; do
        printf -- '-A %s -p ipv6-icmp -m icmp6 --icmpv6-type %s -m hl --hl-eq 255 %s -j ACCEPT\n' "$CHAIN" "$type" "$c"
    done
    printf -- '-A %s -m conntrack --ctstate INVALID %s -j DROP\n' "$CHAIN" "$c"
    printf -- '-A %s -p tcp -m tcp --dport %s %s -j ACCEPT\n' "$CHAIN" "$HOMEMAIL_FW_SSH_PORT" "$c"
    while IFS= read -r ports; do
        printf -- '-A %s -p udp -m multiport --dports %s %s -j ACCEPT\n' "$CHAIN" "$ports" "$c"
    done < <(chunks "$HOMEMAIL_FW_UDP_PORTS")
    printf -- '-A %s %s -j DROP\n' "$CHAIN" "$c"
}

# Both families' desired rules: what applied.spec records.
desired_spec() {
    desired_rules
    if ipv6; then
        printf '# ipv6\n'
        desired_rules6
    fi
}

jump_spec() { printf -- '-m comment --comment %s -j %s' "$TAG" "$CHAIN"; }
chain_exists() { iptables -w -n -L "$CHAIN" >/dev/null 2>&1; }
chain6_exists() { ip6tables -w -n -L "$CHAIN" >/dev/null 2>&1; }
# shellcheck disable=SC2046 # the spec is fixed words
jump_exists() { iptables -w -C INPUT $(jump_spec) >/dev/null 2>&1; }
# shellcheck disable=SC2046
jump6_exists() { ip6tables -w -C INPUT $(jump_spec) >/dev/null 2>&1; }
live_rules() {
    iptables -w -S "$CHAIN" 2>/dev/null || true
    if ipv6; then
        printf '# ipv6\n'
        ip6tables -w -S "$CHAIN" 2>/dev/null || true
    fi
}
# Every chain and jump this host should have: IPv4's, and IPv6's where the kernel has it.
all_in_place() { chain_exists && jump_exists && { ! ipv6 || { chain6_exists && jump6_exists; }; }; }

ledger() { printf '%s/ledger' "$STATE"; }
ledger_has() { [[ -f $(ledger) ]] && grep -Fxq -- "$1" "$(ledger)"; }
ledger_record() {
    [[ -s $(ledger) ]] || printf '%s\n' "$LEDGER_HEADER" >"$(ledger)"
    ledger_has "$1" || printf '%s\n' "$1" >>"$(ledger)"
}

take_lock() {
    mkdir -p -- "$STATE"
    chmod 0700 -- "$STATE"
    exec {lock_fd}>"$STATE/lock"
    flock -w 60 "$lock_fd" || die "another run holds $STATE/lock"
}

cmd_enable() {
    require_tools iptables iptables-restore flock
    ! ipv6 || require_tools ip6tables ip6tables-restore
    take_lock
    local spec chain_entry jump_entry
    spec=$(desired_spec)
    chain_entry="chain${TAB}filter${TAB}$CHAIN"
    jump_entry="jump${TAB}filter${TAB}INPUT${TAB}$CHAIN"
    if chain_exists && ! ledger_has "$chain_entry"; then
        die "chain $CHAIN exists but was not created by $TAG; rename it or set HOMEMAIL_FW_CHAIN"
    fi
    if ipv6 && chain6_exists && ! ledger_has "chain6${TAB}filter${TAB}$CHAIN"; then
        die "ip6tables chain $CHAIN exists but was not created by $TAG; rename it or set HOMEMAIL_FW_CHAIN"
    fi
    if all_in_place && [[ -f $STATE/applied.spec && -f $STATE/applied.rules ]] &&
        [[ $spec == "$(<"$STATE/applied.spec")" && "$(live_rules)" == "$(<"$STATE/applied.rules")" ]]; then
        note "unchanged: $CHAIN is in place"
        return 0
    fi
    # IPv6 first: what it admits is a subset of IPv4's, so a failure of either never leaves IPv6
    # open while IPv4 is filtered. Each family is one transaction (all or nothing).
    if ipv6; then
        local add_jump6=""
        chain6_exists || ledger_record "chain6${TAB}filter${TAB}$CHAIN"
        if ! jump6_exists; then
            ledger_record "jump6${TAB}filter${TAB}INPUT${TAB}$CHAIN"
            add_jump6="-I INPUT 1 $(jump_spec)"
        fi
        {
            printf '*filter\n:%s - [0:0]\n' "$CHAIN"
            desired_rules6
            [[ -z $add_jump6 ]] || printf '%s\n' "$add_jump6"
            printf 'COMMIT\n'
        } | ip6tables-restore -w --noflush || die "ip6tables-restore refused the IPv6 rules; nothing was changed"
    fi
    local add_jump=""
    chain_exists || ledger_record "$chain_entry"
    if ! jump_exists; then
        ledger_record "$jump_entry"
        add_jump="-I INPUT 1 $(jump_spec)"
    fi
    # One transaction: declaring the chain flushes it, the rules refill it, the jump goes on top.
    {
        printf '*filter\n:%s - [0:0]\n' "$CHAIN"
        desired_rules
        [[ -z $add_jump ]] || printf '%s\n' "$add_jump"
        printf 'COMMIT\n'
    } | iptables-restore -w --noflush || die "iptables-restore refused the rules; IPv4 is unchanged (run disable to undo IPv6 too)"
    printf '%s\n' "$spec" >"$STATE/applied.spec.tmp" && mv -f "$STATE/applied.spec.tmp" "$STATE/applied.spec"
    live_rules >"$STATE/applied.rules.tmp" && mv -f "$STATE/applied.rules.tmp" "$STATE/applied.rules"
    note "applied: $CHAIN accepts tcp $HOMEMAIL_FW_TCP_PORTS, udp $HOMEMAIL_FW_UDP_PORTS; drops the rest"
    ! ipv6 || note "applied: IPv6 $CHAIN accepts tcp $HOMEMAIL_FW_SSH_PORT (SSH), udp $HOMEMAIL_FW_UDP_PORTS; drops the rest"
}

cmd_disable() {
    require_tools iptables flock
    if [[ ! -s $(ledger) ]]; then
        note "not enabled: nothing to remove"
        return 0
    fi
    take_lock
    local -a entries
    mapfile -t entries < <(grep -v '^#' "$(ledger)")
    local entry i kind table chain target
    # Root replays these lines: each must name exactly what enable writes, or nothing is done.
    for entry in "${entries[@]}"; do
        IFS=$TAB read -r kind table chain target <<<"$entry"
        case "$kind:$table:$chain:${target:-}" in
            "chain:filter:$CHAIN:" | "chain6:filter:$CHAIN:" | "jump:filter:INPUT:$CHAIN" | "jump6:filter:INPUT:$CHAIN") ;;
            *) die "$(ledger): refusing an entry enable never writes: $entry" ;;
        esac
    done
    ! grep -q $'^[a-z]*6\t' "$(ledger)" || require_tools ip6tables
    for ((i = ${#entries[@]} - 1; i >= 0; i--)); do
        IFS=$TAB read -r kind table chain target <<<"${entries[i]}"
        local ipt=iptables family=""
        [[ $kind != *6 ]] || { ipt=ip6tables; family="IPv6 "; }
        case $kind in
            jump | jump6)
                while "$ipt" -w -t "$table" -C "$chain" -m comment --comment "$TAG" -j "$target" >/dev/null 2>&1; do
                    "$ipt" -w -t "$table" -D "$chain" -m comment --comment "$TAG" -j "$target"
                    note "removed ${family}jump $chain -> $target"
                done
                ;;
            chain | chain6)
                if "$ipt" -w -t "$table" -n -L "$chain" >/dev/null 2>&1; then
                    "$ipt" -w -t "$table" -F "$chain"
                    "$ipt" -w -t "$table" -X "$chain"
                    note "removed ${family}chain $chain"
                fi
                ;;
        esac
    done
    rm -f -- "$(ledger)" "$STATE/applied.spec" "$STATE/applied.rules"
    note "disabled"
}

cmd_status() {
    if [[ -s $(ledger) ]]; then note "enabled (ledger $(ledger))"; else note "not enabled"; fi
    if chain_exists; then live_rules; else note "chain $CHAIN: absent"; fi
    if jump_exists; then note "INPUT jumps to $CHAIN"; else note "INPUT does not jump to $CHAIN"; fi
    if ipv6; then
        if chain6_exists; then ip6tables -w -S "$CHAIN"; else note "IPv6 chain $CHAIN: absent"; fi
        if jump6_exists; then note "IPv6 INPUT jumps to $CHAIN"; else note "IPv6 INPUT does not jump to $CHAIN"; fi
    fi
}

cmd_verify() {
    local drift=0
    [[ -s $(ledger) ]] || { note "drift: not enabled"; exit 1; }
    chain_exists || { note "drift: chain $CHAIN is missing"; drift=1; }
    jump_exists || { note "drift: INPUT does not jump to $CHAIN"; drift=1; }
    if ipv6; then
        chain6_exists || { note "drift: IPv6 chain $CHAIN is missing"; drift=1; }
        jump6_exists || { note "drift: IPv6 INPUT does not jump to $CHAIN"; drift=1; }
    fi
    if [[ ! -f $STATE/applied.spec || "$(desired_spec)" != "$(<"$STATE/applied.spec")" ]]; then
        note "drift: $env_file asks for other rules than were applied (run enable)"
        drift=1
    fi
    if [[ ! -f $STATE/applied.rules || "$(live_rules)" != "$(<"$STATE/applied.rules")" ]]; then
        note "drift: the rules in $CHAIN (IPv4 or IPv6) were changed since enable"
        drift=1
    fi
    ((drift == 0)) || exit 1
    note "ok: $CHAIN is in place"
}

main() {
    local command=${1:-}
    case $command in
        enable | disable | status | verify) ;;
        *) die "usage: $(basename "$0") enable|disable|status|verify" ;;
    esac
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    load_env
    "cmd_$command"
}

main "$@"

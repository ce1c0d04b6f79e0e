#!/usr/bin/env bash
# managed by homemail, do not edit
#
# homemail-home-firewall: what the home server accepts through the WireGuard tunnel.
#
#   homemail-home-firewall enable    build the chains and jump to them (no-op when in place)
#   homemail-home-firewall disable   remove exactly what enable added
#   homemail-home-firewall status    show the state (read-only)
#   homemail-home-firewall verify    exit 1 if the live rules differ from what enable applied (read-only)
#
# The VPS is trusted only as far as the design needs: its gateway (Traefik, HAProxy) connects from
# the hub's tunnel address to Mailu's published front ports, and the replies of home's outbound
# SMTP come back through the tunnel from anywhere on the Internet. So, of what arrives on the
# tunnel interface, only these pass:
#   - packets of flows that already exist (replies to egress, and ICMP errors about them);
#   - new TCP connections from the hub address to the front ports: Docker-published, so DNAT
#     turns them into forwarded packets (filtered in DOCKER-USER, the chain Docker leaves to the
#     admin), and, for a front port a host process serves, INPUT;
# everything else from the tunnel is dropped: another home port, a container port that is not
# published, the home LAN, and any source address but the hub's (the spoke's WireGuard peer
# accepts every inner source, since egress replies come from everywhere).
#
# Two chains of our own ($HOMEMAIL_HFW_INPUT_CHAIN from INPUT, $HOMEMAIL_HFW_FORWARD_CHAIN from
# DOCKER-USER), each jumped to only for packets from the tunnel interface, written with their
# jumps in ONE iptables-restore transaction (all or nothing). INPUT's and FORWARD's policies and
# every other rule stay as they are. The DOCKER-USER jump goes right after the rules other
# homemail tools put first (the SMTP egress accepts its own flow there), ahead of everything else.
# When Docker has not made DOCKER-USER yet, enable makes it and FORWARD's jump to it the way
# Docker does (Docker adopts both when it starts).
#
# Settings: KEY=value lines in $HOMEMAIL_HOME_FIREWALL_ENV (default /etc/homemail/home-firewall.env),
# parsed, never sourced:
#   HOMEMAIL_HFW_INTERFACE       the tunnel interface (wg0)
#   HOMEMAIL_HFW_HUB             the hub's tunnel address: the only source allowed to open connections
#   HOMEMAIL_HFW_SPOKE           home's tunnel address (where the front ports are published)
#   HOMEMAIL_HFW_TCP_PORTS       comma-separated front ports
#   HOMEMAIL_HFW_INPUT_CHAIN     chain jumped to from INPUT
#   HOMEMAIL_HFW_FORWARD_CHAIN   chain jumped to from DOCKER-USER
#   HOMEMAIL_STATE_DIR           where enable records what it added (default /var/lib/homemail/home-firewall)
#
# State directory (on disk: rules vanish at reboot, the record must not):
#   ledger         `# homemail-home-firewall ledger v1`, then one TAB-separated line per object
#                  enable created, written just BEFORE creating it:
#                    chain  filter <chain>
#                    jump   filter <from chain> <to chain> <interface or ->
#                  disable checks every line against the settings (nothing else is ever removed)
#                  and removes them in reverse order.
#   applied.spec   the desired rule text enable last applied (from the env file)
#   applied.rules  `iptables -S` of both chains right after that apply
#   lock           flock(1) file (the boot unit and a deploy may run at once)
# status and verify only read: they never create the directory or take the lock.
set -Eeuo pipefail

readonly TAG="homemail-home-firewall"
readonly LEDGER_HEADER="# homemail-home-firewall ledger v1"
readonly TAB=$'\t'
readonly DOCKER_USER="DOCKER-USER"
env_file="${HOMEMAIL_HOME_FIREWALL_ENV:-/etc/homemail/home-firewall.env}"

die() { printf '%s: error: %s\n' "$TAG" "$*" >&2; exit 1; }
note() { printf '%s\n' "$*"; }

readonly IPV4='^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$'
readonly CHAIN_NAME='^HOMEMAIL-[A-Z0-9-]{1,19}$'

load_env() {
    [[ -r $env_file ]] || die "cannot read $env_file (set HOMEMAIL_HOME_FIREWALL_ENV to use another file)"
    local line number=0
    while IFS= read -r line || [[ -n $line ]]; do
        number=$((number + 1))
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        [[ $line =~ ^(HOMEMAIL_[A-Z0-9_]+)=(.*)$ ]] || die "$env_file line $number: expected HOMEMAIL_KEY=value, got: $line"
        printf -v "${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
    done <"$env_file"
    HOMEMAIL_HFW_INPUT_CHAIN=${HOMEMAIL_HFW_INPUT_CHAIN:-HOMEMAIL-WG-IN}
    HOMEMAIL_HFW_FORWARD_CHAIN=${HOMEMAIL_HFW_FORWARD_CHAIN:-HOMEMAIL-WG-FWD}
    HOMEMAIL_STATE_DIR=${HOMEMAIL_STATE_DIR:-/var/lib/homemail/home-firewall}
    require HOMEMAIL_HFW_INTERFACE '^[a-z][a-z0-9]{0,14}$' "an interface name"
    require HOMEMAIL_HFW_HUB "$IPV4" "an IPv4 address"
    require HOMEMAIL_HFW_SPOKE "$IPV4" "an IPv4 address"
    require HOMEMAIL_HFW_TCP_PORTS '^[0-9]{1,5}(,[0-9]{1,5}){0,14}$' "a comma-separated list of at most 15 ports"
    require HOMEMAIL_HFW_INPUT_CHAIN "$CHAIN_NAME" "a chain name HOMEMAIL-... (capitals, digits, dashes)"
    require HOMEMAIL_HFW_FORWARD_CHAIN "$CHAIN_NAME" "a chain name HOMEMAIL-... (capitals, digits, dashes)"
    require HOMEMAIL_STATE_DIR '^/[A-Za-z0-9._/-]+$' "an absolute path"
    [[ $HOMEMAIL_HFW_INPUT_CHAIN != "$HOMEMAIL_HFW_FORWARD_CHAIN" ]] || die "$env_file: the two chains need two names"
    local port
    for port in ${HOMEMAIL_HFW_TCP_PORTS//,/ }; do
        ((port >= 1 && port <= 65535)) || die "$env_file: port $port is out of range"
    done
    readonly WG=$HOMEMAIL_HFW_INTERFACE HUB=$HOMEMAIL_HFW_HUB SPOKE=$HOMEMAIL_HFW_SPOKE PORTS=$HOMEMAIL_HFW_TCP_PORTS
    readonly IN_CHAIN=$HOMEMAIL_HFW_INPUT_CHAIN FWD_CHAIN=$HOMEMAIL_HFW_FORWARD_CHAIN STATE=$HOMEMAIL_STATE_DIR
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
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install iptables"
    done
}

ipt() { iptables -w 10 "$@"; }

# Both chains' rules as iptables-restore lines (the desired state, from the env file only).
desired_rules() {
    local c="-m comment --comment $TAG"
    printf -- '-A %s -m conntrack --ctstate RELATED,ESTABLISHED %s -j ACCEPT\n' "$IN_CHAIN" "$c"
    printf -- '-A %s -m conntrack --ctstate INVALID %s -j DROP\n' "$IN_CHAIN" "$c"
    printf -- '-A %s -s %s/32 -d %s/32 -p tcp -m multiport --dports %s -m conntrack --ctstate NEW %s -j ACCEPT\n' "$IN_CHAIN" "$HUB" "$SPOKE" "$PORTS" "$c"
    printf -- '-A %s %s -j DROP\n' "$IN_CHAIN" "$c"
    # RETURN, not ACCEPT: what passes here still meets Docker's own rules (published ports only).
    printf -- '-A %s -m conntrack --ctstate RELATED,ESTABLISHED %s -j RETURN\n' "$FWD_CHAIN" "$c"
    printf -- '-A %s -s %s/32 -p tcp -m multiport --dports %s -m conntrack --ctstate NEW --ctorigdst %s %s -j RETURN\n' "$FWD_CHAIN" "$HUB" "$PORTS" "$SPOKE" "$c"
    printf -- '-A %s %s -j DROP\n' "$FWD_CHAIN" "$c"
}

# The jumps, as rule specs (iptables arguments after the chain).
jump_spec() { printf -- '-i %s -m comment --comment %s -j %s' "$WG" "$TAG" "$1"; }

chain_exists() { ipt -n -L "$1" >/dev/null 2>&1; }
# shellcheck disable=SC2046 # the specs are fixed words
input_jump_exists() { ipt -C INPUT $(jump_spec "$IN_CHAIN") >/dev/null 2>&1; }
# shellcheck disable=SC2046
forward_jump_exists() { chain_exists "$DOCKER_USER" && ipt -C "$DOCKER_USER" $(jump_spec "$FWD_CHAIN") >/dev/null 2>&1; }
docker_user_jump_exists() { ipt -C FORWARD -j "$DOCKER_USER" >/dev/null 2>&1; }
live_rules() { { ipt -S "$IN_CHAIN" && ipt -S "$FWD_CHAIN"; } 2>/dev/null || true; }

# How many rules open DOCKER-USER that homemail's tools put there (tagged homemail-*), before
# the first rule of anyone else. Our own jump does not count.
leading_homemail_rules() {
    ipt -S "$DOCKER_USER" | awk -v ours="-j $FWD_CHAIN" '
        $1 != "-A" { next }
        index($0, ours) { next }
        /--comment "?homemail-/ { n++; next }
        { exit }
        END { print n + 0 }'
}

# True when every rule above our DOCKER-USER jump is a homemail rule.
forward_jump_leads() {
    ipt -S "$DOCKER_USER" | awk -v ours="-j $FWD_CHAIN" '
        $1 != "-A" { next }
        index($0, ours) { found = 1; exit }
        /--comment "?homemail-/ { next }
        { exit }
        END { exit !found }'
}

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
    require_tools iptables iptables-restore flock awk
    take_lock
    local spec chain
    spec=$(desired_rules)
    for chain in "$IN_CHAIN" "$FWD_CHAIN"; do
        if chain_exists "$chain" && ! ledger_has "chain${TAB}filter${TAB}$chain"; then
            die "chain $chain exists but was not created by $TAG; rename it or set the chain names in $env_file"
        fi
    done
    if chain_exists "$IN_CHAIN" && chain_exists "$FWD_CHAIN" && input_jump_exists && forward_jump_exists && forward_jump_leads &&
        docker_user_jump_exists && [[ -f $STATE/applied.spec && -f $STATE/applied.rules ]] &&
        [[ $spec == "$(<"$STATE/applied.spec")" && "$(live_rules)" == "$(<"$STATE/applied.rules")" ]]; then
        note "unchanged: $IN_CHAIN and $FWD_CHAIN are in place"
        return 0
    fi
    local -a head=() tail=()
    for chain in "$IN_CHAIN" "$FWD_CHAIN"; do
        chain_exists "$chain" || ledger_record "chain${TAB}filter${TAB}$chain"
        head+=(":$chain - [0:0]")
    done
    if ! chain_exists "$DOCKER_USER"; then
        ledger_record "chain${TAB}filter${TAB}$DOCKER_USER"
        head+=(":$DOCKER_USER - [0:0]")
    fi
    if ! docker_user_jump_exists; then
        ledger_record "jump${TAB}filter${TAB}FORWARD${TAB}$DOCKER_USER${TAB}-"
        tail+=("-I FORWARD 1 -j $DOCKER_USER")
    fi
    if ! input_jump_exists; then
        ledger_record "jump${TAB}filter${TAB}INPUT${TAB}$IN_CHAIN${TAB}$WG"
        tail+=("-I INPUT 1 $(jump_spec "$IN_CHAIN")")
    fi
    if ! forward_jump_exists || ! forward_jump_leads; then
        ledger_record "jump${TAB}filter${TAB}$DOCKER_USER${TAB}$FWD_CHAIN${TAB}$WG"
        local position=1
        if chain_exists "$DOCKER_USER"; then
            position=$(($(leading_homemail_rules) + 1))
            ! forward_jump_exists || tail+=("-D $DOCKER_USER $(jump_spec "$FWD_CHAIN")")
        fi
        tail+=("-I $DOCKER_USER $position $(jump_spec "$FWD_CHAIN")")
    fi
    # One transaction: declaring our chains flushes them, the rules refill them, the jumps follow.
    {
        printf '*filter\n'
        printf '%s\n' "${head[@]}"
        printf '%s\n' "$spec"
        ((${#tail[@]} == 0)) || printf '%s\n' "${tail[@]}"
        printf 'COMMIT\n'
    } | iptables-restore -w 10 --noflush || die "iptables-restore refused the rules; nothing was changed"
    printf '%s\n' "$spec" >"$STATE/applied.spec.tmp" && mv -f "$STATE/applied.spec.tmp" "$STATE/applied.spec"
    live_rules >"$STATE/applied.rules.tmp" && mv -f "$STATE/applied.rules.tmp" "$STATE/applied.rules"
    note "applied: from $WG only $HUB may open tcp $PORTS on $SPOKE; replies pass; the rest is dropped"
}

# A ledger line is acted on only when it names exactly what enable could have written.
ledger_entry_valid() {
    local kind=$1 table=$2 from=$3 to=${4:-} iface=${5:-}
    [[ $table == filter ]] || return 1
    case $kind in
        chain) [[ $from == "$IN_CHAIN" || $from == "$FWD_CHAIN" || $from == "$DOCKER_USER" ]] && [[ -z $to ]] ;;
        jump)
            [[ $from == INPUT && $to == "$IN_CHAIN" && $iface == "$WG" ]] ||
                [[ $from == "$DOCKER_USER" && $to == "$FWD_CHAIN" && $iface == "$WG" ]] ||
                [[ $from == FORWARD && $to == "$DOCKER_USER" && $iface == - ]]
            ;;
        *) return 1 ;;
    esac
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
    local entry kind table from to iface
    for entry in "${entries[@]}"; do
        IFS=$TAB read -r kind table from to iface <<<"$entry"
        ledger_entry_valid "$kind" "$table" "$from" "$to" "$iface" || die "$(ledger): refusing an entry enable never writes: $entry"
    done
    local i
    for ((i = ${#entries[@]} - 1; i >= 0; i--)); do
        IFS=$TAB read -r kind table from to iface <<<"${entries[i]}"
        case $kind in
            jump)
                local -a spec=(-j "$to")
                [[ $iface == - ]] || spec=(-i "$iface" -m comment --comment "$TAG" -j "$to")
                while ipt -t "$table" -C "$from" "${spec[@]}" >/dev/null 2>&1; do
                    ipt -t "$table" -D "$from" "${spec[@]}"
                    note "removed jump $from -> $to"
                done
                ;;
            chain)
                # DOCKER-USER, made before Docker was: removed only while nobody else uses it.
                if [[ $from == "$DOCKER_USER" ]] && chain_exists "$from" && [[ $(ipt -S "$from" | grep -c '^-A ') -gt 0 ]]; then
                    note "kept chain $from: it has rules of others now"
                elif chain_exists "$from"; then
                    ipt -t "$table" -F "$from"
                    ipt -t "$table" -X "$from"
                    note "removed chain $from"
                fi
                ;;
        esac
    done
    rm -f -- "$(ledger)" "$STATE/applied.spec" "$STATE/applied.rules"
    note "disabled"
}

cmd_status() {
    if [[ -s $(ledger) ]]; then note "enabled (ledger $(ledger))"; else note "not enabled"; fi
    local chain
    for chain in "$IN_CHAIN" "$FWD_CHAIN"; do
        if chain_exists "$chain"; then ipt -S "$chain"; else note "chain $chain: absent"; fi
    done
    if input_jump_exists; then note "INPUT jumps to $IN_CHAIN for $WG"; else note "INPUT does not jump to $IN_CHAIN"; fi
    if forward_jump_exists; then note "$DOCKER_USER jumps to $FWD_CHAIN for $WG"; else note "$DOCKER_USER does not jump to $FWD_CHAIN"; fi
}

cmd_verify() {
    local drift=0 chain
    [[ -s $(ledger) ]] || { note "drift: not enabled"; exit 1; }
    for chain in "$IN_CHAIN" "$FWD_CHAIN"; do
        chain_exists "$chain" || { note "drift: chain $chain is missing"; drift=1; }
    done
    input_jump_exists || { note "drift: INPUT does not jump to $IN_CHAIN"; drift=1; }
    if ! forward_jump_exists; then
        note "drift: $DOCKER_USER does not jump to $FWD_CHAIN"
        drift=1
    elif ! forward_jump_leads; then
        note "drift: a rule of someone else comes before the $DOCKER_USER jump to $FWD_CHAIN (run enable)"
        drift=1
    fi
    docker_user_jump_exists || { note "drift: FORWARD does not jump to $DOCKER_USER"; drift=1; }
    if [[ ! -f $STATE/applied.spec || "$(desired_rules)" != "$(<"$STATE/applied.spec")" ]]; then
        note "drift: $env_file asks for other rules than were applied (run enable)"
        drift=1
    fi
    if [[ ! -f $STATE/applied.rules || "$(live_rules)" != "$(<"$STATE/applied.rules")" ]]; then
        note "drift: the rules in $IN_CHAIN or $FWD_CHAIN were changed since enable"
        drift=1
    fi
    ((drift == 0)) || exit 1
    note "ok: $IN_CHAIN and $FWD_CHAIN are in place"
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

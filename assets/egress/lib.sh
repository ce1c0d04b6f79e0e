# shellcheck shell=bash
# managed by homemail, do not edit
#
# Shared core of homemail-smtp-egress (home and VPS variants): env-file parsing, the state ledger,
# sysctl record/restore, and the "want_*" primitives that either apply or check one piece of
# desired state. Installed as /usr/local/lib/homemail/smtp-egress-lib.sh and sourced by
# /usr/local/sbin/homemail-smtp-egress; it does nothing on its own.
#
# Why a ledger: `disable` must undo exactly what `enable` added, even when the env file has changed
# since (Pulumi pushes the new env file before it runs the old step's `disable`), after a reboot
# wiped /run, and without touching rules that Docker or an administrator added. So enable writes
# down each change it is about to make, and disable replays that record backwards. Nothing in
# disable is derived from the env file except where the state directory is.
#
# State directory ($HOMEMAIL_STATE_DIR, default /var/lib/homemail/smtp-egress; on disk because /run
# does not survive a reboot):
#   ledger        first line `# homemail-smtp-egress ledger v1`, then one line per change, oldest
#                 first, fields separated by one TAB:
#                   sysctl    <key as a path under /proc/sys>   (value found: see sysctl.orig)
#                   iptables  <table>  <chain>  <rule spec, words separated by single spaces>
#                   ip-route  <table>  <route spec words as given to `ip route add`>
#                   ip-rule   <priority>  <fwmark, hex as `ip rule` prints it>  <table>
#                 A line is written just BEFORE its change is made (a crash in between leaves an
#                 entry whose object is absent, which disable skips) and never twice. Newer scripts
#                 must keep reading v1: on a content change the new script's disable replays the
#                 ledger the old script wrote.
#   sysctl.orig   `<key>=<value>`: each sysctl as found before enable first changed it. Written
#                 once per key and never overwritten, so a second enable cannot clobber the
#                 original with the value the first one set.
#   lock          flock(1) file: the wg-quick hook and the systemd re-apply unit may run at once.
# status and verify only read: they never create the directory or take the lock.

readonly EGRESS_LEDGER_HEADER="# homemail-smtp-egress ledger v1"
# Every iptables rule this tool adds carries this comment: `-C`/`-D` with it can only ever match our
# own rules, never an identical-looking rule of Docker's, and `iptables -S` shows who added what.
readonly EGRESS_RULE_TAG="homemail-smtp-egress"
# shellcheck disable=SC2034 # used by the variant scripts that source this file
readonly TAG=(-m comment --comment "$EGRESS_RULE_TAG")
readonly TAB=$'\t'

egress_env_file="${HOMEMAIL_EGRESS_ENV:-/etc/homemail/smtp-egress.env}"
# apply | check: what the want_* primitives do. Set by the command dispatcher.
egress_mode="check"
# Number of differences found in check mode.
egress_drift=0

die() { printf 'homemail-smtp-egress: error: %s\n' "$*" >&2; exit 1; }
warn() { printf 'homemail-smtp-egress: warning: %s\n' "$*" >&2; }
note() { printf '%s\n' "$*"; }

# --- env file ---------------------------------------------------------------------------------

# Reads KEY=value lines (HOMEMAIL_* keys only; blank lines and # comments allowed) into shell
# variables. Parsed, not sourced: the file is data and must not be able to run code.
load_env_file() {
    [[ -r $egress_env_file ]] || die "cannot read $egress_env_file (set HOMEMAIL_EGRESS_ENV to use another file)"
    local line key value number=0
    while IFS= read -r line || [[ -n $line ]]; do
        number=$((number + 1))
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        [[ $line =~ ^(HOMEMAIL_[A-Z0-9_]+)=(.*)$ ]] ||
            die "$egress_env_file line $number: expected HOMEMAIL_KEY=value, got: $line"
        key=${BASH_REMATCH[1]}
        value=${BASH_REMATCH[2]}
        printf -v "$key" '%s' "$value"
    done <"$egress_env_file"
    HOMEMAIL_STATE_DIR=${HOMEMAIL_STATE_DIR:-/var/lib/homemail/smtp-egress}
    require_env HOMEMAIL_STATE_DIR '^/[A-Za-z0-9._/-]+$' "an absolute path"
}

# require_env NAME REGEX DESCRIPTION: the variable is set and matches, or the run stops naming it.
require_env() {
    local name=$1 pattern=$2 what=$3
    [[ -n ${!name:-} ]] || die "$egress_env_file: $name is not set (expected $what)"
    [[ ${!name} =~ $pattern ]] || die "$egress_env_file: $name=${!name} is not $what"
}

# The variant scripts validate their settings with these.
# shellcheck disable=SC2034
readonly IPV4_CIDR_PATTERN='^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$'
# shellcheck disable=SC2034
readonly IPV4_PATTERN='^([0-9]{1,3}\.){3}[0-9]{1,3}$'
# shellcheck disable=SC2034
readonly INTERFACE_PATTERN='^[A-Za-z0-9_.-]{1,15}$'
# shellcheck disable=SC2034
readonly NUMBER_PATTERN='^[0-9]+$'

require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool not found: install it (the host preflight step checks this)"
    done
}

# --- state directory --------------------------------------------------------------------------

state_ledger() { printf '%s/ledger' "$HOMEMAIL_STATE_DIR"; }
state_sysctls() { printf '%s/sysctl.orig' "$HOMEMAIL_STATE_DIR"; }

# Creates the state directory and holds its lock for the rest of the run.
take_state_lock() {
    mkdir -p -- "$HOMEMAIL_STATE_DIR"
    chmod 0700 -- "$HOMEMAIL_STATE_DIR"
    exec {egress_lock_fd}>"$HOMEMAIL_STATE_DIR/lock"
    flock -w 60 "$egress_lock_fd" || die "another homemail-smtp-egress run holds $HOMEMAIL_STATE_DIR/lock"
}

# ledger_record FIELD...: appends one entry (fields joined by TAB) unless it is already there.
ledger_record() {
    local ledger entry
    ledger=$(state_ledger)
    entry=$(
        IFS=$TAB
        printf '%s' "$*"
    )
    [[ -s $ledger ]] || printf '%s\n' "$EGRESS_LEDGER_HEADER" >"$ledger"
    grep -Fxq -- "$entry" "$ledger" || printf '%s\n' "$entry" >>"$ledger"
}

is_enabled() { [[ -s $(state_ledger) ]]; }

# --- sysctls ----------------------------------------------------------------------------------

# want_sysctl KEY VALUE (KEY as a path under /proc/sys, e.g. net/ipv4/ip_forward; a path rather
# than dotted form because interface names may contain dots).
want_sysctl() {
    local key=$1 value=$2 file current
    file="/proc/sys/$key"
    if [[ ! -e $file ]]; then
        # Per-interface keys appear with their interface; wg-quick's hook re-applies then.
        drift_or_warn "sysctl $key does not exist (interface absent?)"
        return 0
    fi
    current=$(<"$file")
    [[ $current == "$value" ]] && return 0
    if [[ $egress_mode == check ]]; then
        report_drift "sysctl $key is $current, want $value"
        return 0
    fi
    local originals
    originals=$(state_sysctls)
    if ! grep -q -- "^$key=" "$originals" 2>/dev/null; then
        printf '%s=%s\n' "$key" "$current" >>"$originals"
    fi
    ledger_record sysctl "$key"
    printf '%s\n' "$value" >"$file"
    note "set $key=$value (was $current)"
}

# --- iptables ---------------------------------------------------------------------------------

# -w: wait for the xtables lock (legacy backend) instead of failing while Docker holds it.
ipt() { iptables -w 10 "$@"; }

rule_present() {
    local table=$1 chain=$2
    shift 2
    ipt -t "$table" -C "$chain" "$@" 2>/dev/null
}

# True when no rule of ours comes after a rule that is not ours in TABLE/CHAIN.
ours_lead_chain() {
    local table=$1 chain=$2
    ipt -t "$table" -S "$chain" | awk -v tag="--comment $EGRESS_RULE_TAG" '
        $1 != "-A" { next }
        index($0, tag) == 0 { foreign = 1; next }
        foreign { bad = 1 }
        END { exit bad }'
}

# want_rule TABLE CHAIN PLACE SPEC...
#   PLACE "first": the rule must precede every rule in the chain that is not ours (Docker's raw
#   hairpin drops, its DOCKER-USER RETURN, its MASQUERADE). Checked on every run, because Docker
#   re-inserts its rules when it restarts. "any": appended; position does not matter.
want_rule() {
    local table=$1 chain=$2 place=$3
    shift 3
    if ! ipt -t "$table" -S "$chain" >/dev/null 2>&1; then
        drift_or_die "chain $table/$chain does not exist (is Docker running?)"
        return 0
    fi
    local present=0 misplaced=0
    rule_present "$table" "$chain" "$@" && present=1
    if [[ $place == first && $present == 1 ]] && ! ours_lead_chain "$table" "$chain"; then
        misplaced=1
    fi
    if [[ $present == 1 && $misplaced == 0 ]]; then
        return 0
    fi
    if [[ $egress_mode == check ]]; then
        if [[ $present == 0 ]]; then
            report_drift "missing: iptables -t $table $chain $*"
        else
            report_drift "behind a foreign rule: iptables -t $table $chain $*"
        fi
        return 0
    fi
    ledger_record iptables "$table" "$chain" "$*"
    if [[ $misplaced == 1 ]]; then
        ipt -t "$table" -D "$chain" "$@"
    fi
    if [[ $place == first ]]; then
        ipt -t "$table" -I "$chain" 1 "$@"
    else
        ipt -t "$table" -A "$chain" "$@"
    fi
    note "added: iptables -t $table $chain $*"
}

# --- policy routing ---------------------------------------------------------------------------

# `ip rule` prints a numeric fwmark in hex (`fwmark 0x19`) whatever base it was given in, and the
# fields separated by a tab after the priority: compare against that exact shape.
ip_rule_present() {
    local priority=$1 mark_hex=$2 table=$3
    ip -4 rule show | awk -v want="$priority: from all fwmark $mark_hex lookup $table" '
        { $1 = $1 } $0 == want { found = 1 } END { exit !found }'
}

want_ip_rule() {
    local priority=$1 mark_hex=$2 table=$3
    ip_rule_present "$priority" "$mark_hex" "$table" && return 0
    if [[ $egress_mode == check ]]; then
        report_drift "missing: ip rule $priority: fwmark $mark_hex lookup $table"
        return 0
    fi
    ledger_record ip-rule "$priority" "$mark_hex" "$table"
    ip -4 rule add priority "$priority" fwmark "$mark_hex" table "$table"
    note "added: ip rule $priority: fwmark $mark_hex lookup $table"
}

# route_present TABLE LINE: LINE is the route exactly as `ip route show table TABLE` prints it
# (whitespace-normalised).
route_present() {
    local table=$1 line=$2
    ip -4 route show table "$table" | awk -v want="$line" '
        { $1 = $1 } $0 == want { found = 1 } END { exit !found }'
}

# want_route TABLE PRINTED-FORM SPEC...: SPEC is what `ip route add` takes, PRINTED-FORM is how
# `ip route show` prints that route (the kernel adds e.g. `scope link`).
want_route() {
    local table=$1 printed=$2
    shift 2
    route_present "$table" "$printed" && return 0
    if [[ $egress_mode == check ]]; then
        report_drift "missing: ip route table $table $printed"
        return 0
    fi
    ledger_record ip-route "$table" "$*"
    ip -4 route add "$@" table "$table"
    note "added: ip route table $table $*"
}

interface_up() { [[ -n $(ip -o link show dev "$1" up 2>/dev/null) ]]; }

# --- check-mode reporting ---------------------------------------------------------------------

report_drift() {
    egress_drift=$((egress_drift + 1))
    printf 'drift: %s\n' "$*"
}

# A missing prerequisite is drift to verify, and in enable a hard stop (nothing is half-applied:
# prerequisites are checked before the first change).
drift_or_die() {
    if [[ $egress_mode == check ]]; then report_drift "$*"; else die "$*"; fi
}

# A condition that enable tolerates (it stays fail-closed and re-applies later) but verify reports.
drift_or_warn() {
    if [[ $egress_mode == check ]]; then report_drift "$*"; else warn "$*"; fi
}

# --- disable: replay the ledger backwards -----------------------------------------------------

undo_entry() {
    local kind=$1 a=$2 b=${3:-} c=${4:-}
    local -a words
    case $kind in
    iptables)
        read -r -a words <<<"$c"
        # Loop: should the rule exist twice (a crash between two writes), remove every copy. The
        # spec carries our comment, so this can only ever delete our own rules.
        local tries=0
        while rule_present "$a" "$b" "${words[@]}" && ((tries++ < 16)); do
            ipt -t "$a" -D "$b" "${words[@]}"
            note "removed: iptables -t $a $b $c"
        done
        ;;
    ip-rule)
        while ip_rule_present "$a" "$b" "$c"; do
            ip -4 rule del priority "$a" fwmark "$b" table "$c"
            note "removed: ip rule $a: fwmark $b lookup $c"
        done
        ;;
    ip-route)
        read -r -a words <<<"$b"
        if ip -4 route del "${words[@]}" table "$a" 2>/dev/null; then
            note "removed: ip route table $a $b"
        fi
        ;;
    sysctl) ;; # restored from sysctl.orig below, once per key, after everything else is gone
    *) warn "unknown ledger entry '$kind' skipped" ;;
    esac
}

restore_sysctls() {
    local originals key value
    originals=$(state_sysctls)
    [[ -f $originals ]] || return 0
    while IFS='=' read -r key value; do
        [[ -n $key ]] || continue
        if [[ -e /proc/sys/$key ]]; then
            printf '%s\n' "$value" >"/proc/sys/$key"
            note "restored $key=$value"
        else
            warn "cannot restore $key=$value: it no longer exists"
        fi
    done <"$originals"
}

# disable runs as root on what the state directory says, and that directory outlives this script:
# every record must have the shape this script writes before anything is acted on, so a tampered or
# corrupt ledger cannot make root write an arbitrary file (a sysctl key `../../etc/x`) or pass
# arbitrary arguments to iptables or ip.
readonly LEDGER_TABLE_PATTERN='^(raw|mangle|nat|filter)$'
readonly LEDGER_CHAIN_PATTERN='^[A-Za-z0-9_-]{1,28}$'
readonly LEDGER_WORDS_PATTERN='^[A-Za-z0-9_./:,=!+-]+( [A-Za-z0-9_./:,=!+-]+)*$'
readonly LEDGER_HEX_PATTERN='^(0x[0-9a-f]+|[0-9]+)(/0x[0-9a-f]+)?$'
# A key as a path under /proc/sys: components that never start with a dot (no `.` or `..`).
readonly SYSCTL_KEY_PATTERN='^[a-z0-9_]+(/[A-Za-z0-9_][A-Za-z0-9_.-]*)+$'
readonly SYSCTL_VALUE_PATTERN='^-?[0-9]+([[:space:]]+-?[0-9]+)*$'

# ledger_entry_problem FIELD...: prints why an entry is not one this script writes (nothing if it is).
ledger_entry_problem() {
    local kind=${1:-} a=${2:-} b=${3:-} c=${4:-}
    case $kind in
    sysctl) [[ $# -eq 2 && $a =~ $SYSCTL_KEY_PATTERN ]] || echo "sysctl key '$a' is not a /proc/sys name" ;;
    iptables)
        [[ $# -eq 4 && $a =~ $LEDGER_TABLE_PATTERN && $b =~ $LEDGER_CHAIN_PATTERN && $c =~ $LEDGER_WORDS_PATTERN ]] ||
            { echo "iptables entry is not table, chain and rule words"; return; }
        [[ " $c " == *" --comment $EGRESS_RULE_TAG "* ]] || echo "iptables rule does not carry homemail's comment"
        ;;
    ip-route) [[ $# -eq 3 && $a =~ $NUMBER_PATTERN && $b =~ $LEDGER_WORDS_PATTERN ]] || echo "ip-route entry is not a table and route words" ;;
    ip-rule) [[ $# -eq 4 && $a =~ $NUMBER_PATTERN && $b =~ $LEDGER_HEX_PATTERN && $c =~ $NUMBER_PATTERN ]] || echo "ip-rule entry is not priority, fwmark and table" ;;
    *) echo "unknown entry kind '$kind'" ;;
    esac
}

# Checks the whole ledger and sysctl.orig; stops naming the first bad line, before any change.
validate_state_records() {
    local ledger=$1 originals=$2 line number problem key value
    local -a fields
    if [[ -f $ledger ]]; then
        number=0
        while IFS= read -r line || [[ -n $line ]]; do
            number=$((number + 1))
            [[ -z $line || $line == '#'* ]] && continue
            IFS=$TAB read -r -a fields <<<"$line"
            problem=$(ledger_entry_problem "${fields[@]}")
            [[ -z $problem ]] || die "$ledger line $number: $problem; nothing was changed (inspect the file; remove the line only if you know what it undid)"
        done <"$ledger"
    fi
    if [[ -f $originals ]]; then
        number=0
        while IFS= read -r line || [[ -n $line ]]; do
            number=$((number + 1))
            [[ -n $line ]] || continue
            key=${line%%=*}
            value=${line#*=}
            [[ $line == *=* && $key =~ $SYSCTL_KEY_PATTERN && $value =~ $SYSCTL_VALUE_PATTERN ]] ||
                die "$originals line $number: not a /proc/sys name and a number; nothing was changed"
        done <"$originals"
    fi
}

disable_from_ledger() {
    take_state_lock
    local ledger line
    ledger=$(state_ledger)
    if [[ ! -f $ledger && ! -f $(state_sysctls) ]]; then
        note "nothing recorded in $HOMEMAIL_STATE_DIR: egress is not enabled"
        return 0
    fi
    validate_state_records "$ledger" "$(state_sysctls)"
    if [[ -f $ledger ]]; then
        local -a entries=()
        mapfile -t entries < <(grep -v '^#' "$ledger")
        local i
        for ((i = ${#entries[@]} - 1; i >= 0; i--)); do
            line=${entries[i]}
            [[ -n $line ]] || continue
            IFS=$TAB read -r -a fields <<<"$line"
            undo_entry "${fields[@]}"
        done
    fi
    restore_sysctls
    rm -f -- "$ledger" "$(state_sysctls)"
    note "disabled: every recorded change undone"
}

# --- command dispatch -------------------------------------------------------------------------

# egress_main COMMAND: the variant script defines load_settings, desired_state, show_status and
# enabled_summary, then hands its arguments here.
egress_main() {
    local command=${1:-}
    case $command in
    enable | reapply | disable | status | verify) ;;
    *) die "usage: homemail-smtp-egress enable|reapply|disable|status|verify" ;;
    esac
    require_tools iptables ip flock awk grep
    load_settings
    case $command in
    enable)
        take_state_lock
        egress_mode=apply
        desired_state
        enabled_summary
        ;;
    reapply)
        if ! is_enabled; then
            note "egress is not enabled: nothing to re-apply"
            return 0
        fi
        take_state_lock
        egress_mode=apply
        desired_state
        enabled_summary
        ;;
    disable) disable_from_ledger ;;
    status) show_status ;;
    verify)
        egress_mode=check
        is_enabled || report_drift "egress is not enabled (no ledger in $HOMEMAIL_STATE_DIR)"
        desired_state
        if ((egress_drift > 0)); then
            note "verify: $egress_drift difference(s)"
            exit 1
        fi
        note "verify: ok"
        ;;
    esac
}

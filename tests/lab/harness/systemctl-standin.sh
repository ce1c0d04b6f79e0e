#!/usr/bin/env bash
# LAB STAND-IN for systemctl (systemd is not PID 1 on lab hosts, and systemd-nspawn cannot run
# Docker's containers here). Installed as /usr/local/bin/systemctl in a lab host's private
# /usr/local, so `sudo systemctl ...` finds it before /usr/bin/systemctl.
#
# It runs the installed units' Exec* lines in order, as systemd would for the unit types homemail
# uses, and keeps enablement where systemctl keeps it:
# - unit files from /etc/systemd/system, /run/systemd/system, /lib/systemd/system,
#   /usr/lib/systemd/system (first found), templates (`name@inst` -> `name@.service`, %i %I %n %N %%),
#   drop-ins `<unit>.d/*.conf`; Environment=, EnvironmentFile=[-], a clean environment like systemd's.
# - Type=oneshot (with or without RemainAfterExit): ExecStartPre, ExecStart, ExecStartPost in order;
#   a failing line (without a `-` prefix) fails the start, runs ExecStopPost and marks it failed.
#   Type=simple/exec/notify: ExecStart in the background, its PID recorded.
# - enable/disable write/remove the [Install] WantedBy=/RequiredBy= symlinks in
#   /etc/systemd/system/<target>.wants|requires/, as systemctl does; `--now` also starts/stops.
# - docker.service is the lab harness's dockerd (tests/lab/harness/dockerHost.ts): active while
#   /run/docker.pid's process runs; this stand-in does not start or stop it.
# Not modelled: dependencies and ordering (After=, Requires=, PartOf=), timers, sockets, cgroups.
# State lives in /run/lab-systemd (the host's tmpfs /run: gone after a lab "reboot", as unit
# states are); unit output goes to /run/lab-systemd/journal.log, as it would go to the journal.
set -Eeuo pipefail

STATE=/run/lab-systemd
JOURNAL=$STATE/journal.log
UNIT_DIRS=(/etc/systemd/system /run/systemd/system /lib/systemd/system /usr/lib/systemd/system)
mkdir -p "$STATE"

die() {
    echo "systemctl (lab stand-in): $*" >&2
    exit 1
}
log() { printf '%s %s\n' "$(date -u +%H:%M:%S.%N | cut -c1-12)" "$*" >> "$JOURNAL"; }

# Full unit name: `wg-quick@wg0` -> `wg-quick@wg0.service`.
unit_name() {
    case $1 in
        *.service | *.target | *.socket | *.timer | *.mount | *.path) echo "$1" ;;
        *) echo "$1.service" ;;
    esac
}

# Path of the unit file (the template's for an instance), or nothing.
unit_file() {
    local unit=$1 dir template=""
    if [[ $unit == *@?*.* ]]; then template="${unit%%@*}@.${unit##*.}"; fi
    for dir in "${UNIT_DIRS[@]}"; do
        if [ -f "$dir/$unit" ]; then echo "$dir/$unit"; return 0; fi
        if [ -n "$template" ] && [ -f "$dir/$template" ]; then echo "$dir/$template"; return 0; fi
    done
    return 1
}

# Loads a unit's settings into U_* variables (arrays for Exec* lines, Environment, EnvironmentFile).
load_unit() {
    local unit=$1 file section="" line key value instance="" prefix
    file=$(unit_file "$unit") || die "Unit $unit not found."
    U_FILE=$file U_TYPE=simple U_REMAIN=no U_WANTED=() U_REQUIRED=() U_ENV=() U_ENVFILES=()
    # shellcheck disable=SC2034 # read through `local -n` in run_list
    U_ExecStartPre=() U_ExecStart=() U_ExecStartPost=() U_ExecStop=() U_ExecStopPost=() U_ExecReload=()
    U_INSTALL=no
    if [[ $unit == *@?*.* ]]; then instance=${unit#*@}; instance=${instance%.*}; fi
    prefix=${unit%.*}
    local files=("$file")
    for dir in "${UNIT_DIRS[@]}"; do
        for f in "$dir/$unit.d"/*.conf; do [ -f "$f" ] && files+=("$f"); done
    done
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line#"${line%%[![:space:]]*}"}
        case $line in "" | "#"* | ";"*) continue ;; "["*"]") section=$line; continue ;; esac
        key=${line%%=*}
        value=${line#*=}
        key=${key%"${key##*[![:space:]]}"}
        value=${value#"${value%%[![:space:]]*}"}
        value=${value//%%/$'\x01'}
        value=${value//%i/$instance}
        value=${value//%I/$instance}
        value=${value//%n/$unit}
        value=${value//%N/$prefix}
        value=${value//$'\x01'/%}
        case "$section:$key" in
            "[Service]:Type") U_TYPE=$value ;;
            "[Service]:RemainAfterExit") U_REMAIN=$value ;;
            "[Service]:Environment") U_ENV+=("$value") ;;
            "[Service]:EnvironmentFile") U_ENVFILES+=("$value") ;;
            "[Service]:ExecStartPre" | "[Service]:ExecStart" | "[Service]:ExecStartPost" | \
                "[Service]:ExecStop" | "[Service]:ExecStopPost" | "[Service]:ExecReload")
                # An empty assignment resets the list (how drop-ins replace ExecStart).
                if [ -z "$value" ]; then eval "U_$key=()"; else eval "U_$key+=(\"\$value\")"; fi ;;
            "[Install]:WantedBy") U_INSTALL=yes; read -r -a more <<< "$value"; U_WANTED+=("${more[@]}") ;;
            "[Install]:RequiredBy") U_INSTALL=yes; read -r -a more <<< "$value"; U_REQUIRED+=("${more[@]}") ;;
            "[Install]:"*) U_INSTALL=yes ;;
        esac
    done < <(cat "${files[@]}")
}

# Runs one Exec line in systemd's clean environment; prefix `-` ignores its failure.
exec_line() {
    local unit=$1 kind=$2 cmdline=$3 ignore=no
    while [[ $cmdline == [-@+!:]* ]]; do
        [[ $cmdline == -* ]] && ignore=yes
        cmdline=${cmdline:1}
    done
    log "$unit: $kind: $cmdline"
    local status=0
    (
        cd /
        env_args=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
        for assigns in "${U_ENV[@]}"; do
            eval "words=($assigns)"
            # shellcheck disable=SC2154 # set by the eval above
            env_args+=("${words[@]}")
        done
        for ef in "${U_ENVFILES[@]}"; do
            optional=no
            [[ $ef == -* ]] && optional=yes && ef=${ef:1}
            if [ -f "$ef" ]; then
                while IFS= read -r kv || [ -n "$kv" ]; do
                    case $kv in "" | "#"* | ";"*) continue ;; esac
                    eval "words=($kv)"
                    env_args+=("${words[@]}")
                done < "$ef"
            elif [ "$optional" = no ]; then
                echo "$unit: EnvironmentFile $ef not found" >&2
                exit 1
            fi
        done
        eval "argv=($cmdline)"
        # shellcheck disable=SC2154 # set by the eval above
        exec env -i "${env_args[@]}" "${argv[@]}"
    ) >> "$JOURNAL" 2>&1 < /dev/null || status=$?
    log "$unit: $kind exited $status"
    if [ "$status" -ne 0 ] && [ "$ignore" = no ]; then return "$status"; fi
    return 0
}

run_list() {
    local unit=$1 kind=$2 line
    local -n list="U_$kind"
    for line in "${list[@]}"; do exec_line "$unit" "$kind" "$line" || return 1; done
}

docker_active() {
    [ -s /run/docker.pid ] && kill -0 "$(cat /run/docker.pid)" 2> /dev/null
}

is_active() {
    local unit=$1
    if [ "$unit" = docker.service ]; then docker_active; return; fi
    if [ -f "$STATE/$unit.pid" ]; then kill -0 "$(cat "$STATE/$unit.pid")" 2> /dev/null; return; fi
    [ -f "$STATE/$unit.active" ]
}

failed_start() {
    local unit=$1
    run_list "$unit" ExecStopPost || true
    rm -f "$STATE/$unit.active" "$STATE/$unit.pid"
    touch "$STATE/$unit.failed"
    echo "Job for $unit failed because the control process exited with error code." >&2
    echo "See \"systemctl status $unit\" and \"journalctl -xeu $unit\" for details. Lab journal ($JOURNAL), last lines:" >&2
    tail -n 15 "$JOURNAL" >&2
    return 1
}

start_unit() {
    local unit=$1
    if [ "$unit" = docker.service ]; then docker_active && return 0; die "docker.service is the lab harness's dockerd; it is not running"; fi
    is_active "$unit" && return 0
    load_unit "$unit"
    rm -f "$STATE/$unit.failed"
    log "$unit: starting"
    run_list "$unit" ExecStartPre || { failed_start "$unit"; return 1; }
    case $U_TYPE in
        oneshot)
            run_list "$unit" ExecStart || { failed_start "$unit"; return 1; }
            run_list "$unit" ExecStartPost || { failed_start "$unit"; return 1; }
            if [ "$U_REMAIN" = yes ]; then touch "$STATE/$unit.active"; fi
            ;;
        simple | exec | notify)
            [ "${#U_ExecStart[@]}" -eq 1 ] || die "$unit: Type=$U_TYPE needs exactly one ExecStart"
            local line=${U_ExecStart[0]}
            line=${line#[-@+!:]}
            log "$unit: ExecStart (background): $line"
            eval "argv=($line)"
            # shellcheck disable=SC2154 # set by the eval above
            setsid env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "${argv[@]}" >> "$JOURNAL" 2>&1 < /dev/null &
            echo $! > "$STATE/$unit.pid"
            run_list "$unit" ExecStartPost || { failed_start "$unit"; return 1; }
            ;;
        *) die "$unit: Type=$U_TYPE is not modelled by the lab stand-in" ;;
    esac
    log "$unit: started"
}

stop_unit() {
    local unit=$1
    [ "$unit" = docker.service ] && die "docker.service is the lab harness's dockerd; stop it through the harness"
    is_active "$unit" || { rm -f "$STATE/$unit.failed"; return 0; }
    load_unit "$unit"
    log "$unit: stopping"
    run_list "$unit" ExecStop || true
    if [ -f "$STATE/$unit.pid" ]; then
        local pid
        pid=$(cat "$STATE/$unit.pid")
        kill -TERM "$pid" 2> /dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2> /dev/null || true
    fi
    run_list "$unit" ExecStopPost || true
    rm -f "$STATE/$unit.active" "$STATE/$unit.pid"
    log "$unit: stopped"
}

enable_unit() {
    local unit=$1 target
    [ "$unit" = docker.service ] && return 0
    load_unit "$unit"
    if [ "$U_INSTALL" = no ]; then
        echo "The unit files have no installation config (WantedBy=, RequiredBy=, ...); $unit is static." >&2
        return 0
    fi
    for target in "${U_WANTED[@]}"; do link_into "$unit" "$target.wants"; done
    for target in "${U_REQUIRED[@]}"; do link_into "$unit" "$target.requires"; done
}

link_into() {
    local link=/etc/systemd/system/$2/$1
    if [ "$(readlink "$link" 2> /dev/null)" != "$U_FILE" ]; then
        mkdir -p "${link%/*}"
        ln -sfn "$U_FILE" "$link"
        echo "Created symlink $link → $U_FILE." >&2
    fi
}

disable_unit() {
    local unit=$1 link
    [ "$unit" = docker.service ] && die "docker.service is the lab harness's dockerd; it cannot be disabled here"
    unit_file "$unit" > /dev/null || die "Unit file $unit does not exist."
    for link in /etc/systemd/system/*.wants/"$unit" /etc/systemd/system/*.requires/"$unit"; do
        if [ -L "$link" ]; then
            rm -f "$link"
            echo "Removed \"$link\"." >&2
            rmdir --ignore-fail-on-non-empty "${link%/*}"
        fi
    done
}

enabled_state() {
    local unit=$1 link
    [ "$unit" = docker.service ] && { echo enabled; return 0; }
    unit_file "$unit" > /dev/null || { echo "not-found"; return 1; }
    for link in /etc/systemd/system/*.wants/"$unit" /etc/systemd/system/*.requires/"$unit"; do
        [ -L "$link" ] && { echo enabled; return 0; }
    done
    load_unit "$unit"
    if [ "$U_INSTALL" = no ]; then echo static; return 0; fi
    echo disabled
    return 1
}

now=no quiet=no
args=()
for a in "$@"; do
    case $a in
        --now) now=yes ;;
        -q | --quiet) quiet=yes ;;
        --no-block | --system | --no-pager | --no-ask-password | --no-reload) ;;
        -*) die "option $a is not modelled" ;;
        *) args+=("$a") ;;
    esac
done
[ "${#args[@]}" -ge 1 ] || die "no command given"
cmd=${args[0]}
units=()
for u in "${args[@]:1}"; do units+=("$(unit_name "$u")"); done
log "systemctl $*"

rc=0
case $cmd in
    daemon-reload | daemon-reexec) ;;
    start) for u in "${units[@]}"; do start_unit "$u" || rc=1; done ;;
    stop) for u in "${units[@]}"; do stop_unit "$u" || rc=1; done ;;
    restart | try-restart | reload-or-restart | try-reload-or-restart)
        for u in "${units[@]}"; do
            if [[ $cmd == try-* ]] && ! is_active "$u"; then continue; fi
            if ! stop_unit "$u" || ! start_unit "$u"; then rc=1; fi
        done ;;
    reload)
        for u in "${units[@]}"; do
            is_active "$u" || die "Unit $u is not active, cannot reload."
            load_unit "$u"
            run_list "$u" ExecReload || rc=1
        done ;;
    enable)
        for u in "${units[@]}"; do enable_unit "$u"; done
        if [ "$now" = yes ]; then for u in "${units[@]}"; do start_unit "$u" || rc=1; done; fi ;;
    disable)
        if [ "$now" = yes ]; then for u in "${units[@]}"; do stop_unit "$u" || rc=1; done; fi
        for u in "${units[@]}"; do disable_unit "$u"; done ;;
    is-active)
        rc=3
        for u in "${units[@]}"; do
            if is_active "$u"; then state=active; rc=0; elif [ -f "$STATE/$u.failed" ]; then state=failed; else state=inactive; fi
            [ "$quiet" = yes ] || echo "$state"
        done ;;
    is-failed)
        rc=1
        for u in "${units[@]}"; do
            if [ -f "$STATE/$u.failed" ]; then state=failed; rc=0; elif is_active "$u"; then state=active; else state=inactive; fi
            [ "$quiet" = yes ] || echo "$state"
        done ;;
    is-enabled)
        rc=1
        for u in "${units[@]}"; do
            if state=$(enabled_state "$u"); then rc=0; fi
            [ "$quiet" = yes ] || echo "$state"
        done ;;
    status)
        for u in "${units[@]}"; do
            if is_active "$u"; then state=active; elif [ -f "$STATE/$u.failed" ]; then state=failed; rc=3; else state=inactive; rc=3; fi
            echo "● $u (lab stand-in) - $state; $(enabled_state "$u" || true)"
            grep -F " $u: " "$JOURNAL" | tail -n 10 || true
        done ;;
    *) die "command $cmd is not modelled" ;;
esac
exit "$rc"

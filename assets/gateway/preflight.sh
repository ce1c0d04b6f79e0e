#!/usr/bin/env bash
# managed by homemail, do not edit
#
# Preflight of the homemail VPS gateway: stops `pulumi up` with one clear line per problem before
# anything is installed on the VPS. Read-only. Run as root (directly or through sudo).
#
#   preflight.sh [--firewall] [--ports PROCESS:PORT,...] [--project NAME] [--existing-traefik]
#
# Checks: Docker Engine >= HOMEMAIL_MIN_DOCKER (default 20.10, the first with the compose-spec
# features used here) is installed and its daemon answers; the compose plugin (`docker compose`,
# v2) >= HOMEMAIL_MIN_COMPOSE (default 2.20: `up --wait`, top-level `name:`); with --firewall also
# iptables, iptables-restore and flock.
# With --ports (the port table: which gateway process takes which public TCP port): no other process
# listens on those ports (an exim or a web server there would stop HAProxy or Traefik from binding),
# naming the process that does. Listeners of the containers of compose project NAME (homemail's own
# gateway, when preflight runs again) are fine, and with --existing-traefik so is a process named
# traefik on the ports the port table gives Traefik (the user's own Traefik).
set -Eeuo pipefail

min_docker=${HOMEMAIL_MIN_DOCKER:-20.10}
min_compose=${HOMEMAIL_MIN_COMPOSE:-2.20}
firewall=false
ports=""
project=""
existing_traefik=false
while (($# > 0)); do
    case $1 in
        --firewall) firewall=true ;;
        --existing-traefik) existing_traefik=true ;;
        --ports | --project)
            (($# >= 2)) || { printf 'homemail preflight: %s needs a value\n' "$1" >&2; exit 2; }
            if [[ $1 == --ports ]]; then ports=$2; else project=$2; fi
            shift
            ;;
        *) printf 'homemail preflight: unknown argument %s\n' "$1" >&2; exit 2 ;;
    esac
    shift
done

problems=0
problem() {
    printf 'homemail preflight: %s\n' "$*" >&2
    problems=$((problems + 1))
}

# at_least VERSION MINIMUM: true when VERSION (leading "v" and any suffix ignored) >= MINIMUM.
at_least() {
    local version=${1#v}
    version=${version%%[-+]*}
    [[ $version =~ ^[0-9]+(\.[0-9]+)*$ ]] || return 1
    [[ $(printf '%s\n%s\n' "$2" "$version" | sort -V | head -n 1) == "$2" ]]
}

if ! command -v docker >/dev/null 2>&1; then
    problem "docker is not installed on the VPS: install Docker Engine ${min_docker}+ and the compose plugin (https://docs.docker.com/engine/install/)"
else
    server=$(docker version --format '{{.Server.Version}}' 2>/dev/null || true)
    if [[ -z $server ]]; then
        problem "the Docker daemon does not answer (docker version shows no server): start it with systemctl enable --now docker"
    elif ! at_least "$server" "$min_docker"; then
        problem "Docker Engine $server is too old: homemail needs ${min_docker} or newer"
    fi
    if ! compose=$(docker compose version --short 2>/dev/null); then
        problem "the docker compose plugin (v2) is missing: install docker-compose-plugin (the old docker-compose v1 is not enough)"
    elif ! at_least "$compose" "$min_compose"; then
        problem "docker compose $compose is too old: homemail needs ${min_compose} or newer"
    fi
fi

if [[ $firewall == true ]]; then
    for tool in iptables iptables-restore flock; do
        command -v "$tool" >/dev/null 2>&1 ||
            problem "$tool is missing: install iptables (and util-linux for flock), or set homemail:gateway.firewall false"
    done
fi

# PIDs of the processes in homemail's own gateway containers (host network: their listeners are
# the VPS's), from the Docker daemon; empty when none runs.
own_gateway_pids() {
    [[ -n $project ]] && command -v docker >/dev/null 2>&1 || return 0
    local container
    for container in $(docker ps -q --filter "label=com.docker.compose.project=$project" 2>/dev/null || true); do
        docker top "$container" -eo pid 2>/dev/null | awk 'NR > 1 { print $1 }' || true
    done
}

# What to do about a process holding a port homemail needs, by its name.
advice_for() {
    case $1 in
        exim* | postfix | master | sendmail | opensmtpd | smtpd)
            printf 'a mail server runs on the VPS, which must not store mail: stop and disable it (systemctl disable --now %s)' "${1%%[^a-z0-9]*}" ;;
        apache2 | httpd | nginx | caddy | lighttpd)
            printf 'a web server runs on the VPS: stop and disable it (systemctl disable --now %s), or move it off the port' "$1" ;;
        traefik)
            printf 'a Traefik not started by homemail: to keep it, set homemail:gateway.existingTraefikDynamicDir to its dynamic directory; otherwise stop it' ;;
        docker-proxy)
            printf 'a Docker container publishes this port: docker ps --filter publish=%s shows which; stop it or publish another port' "$2" ;;
        *)
            printf 'stop it or move it to another port' ;;
    esac
}

# Public ports free for the gateway (or held by what may hold them), from `ss -ltnp`.
check_ports() {
    [[ -n $ports ]] || return 0
    if ! command -v ss >/dev/null 2>&1; then
        problem "ss is missing: install iproute2 (needed to check that the gateway's ports are free)"
        return 0
    fi
    local listeners own spec owner port holder name pid
    # "port<TAB>name<TAB>pid" per process holding a listening TCP socket (IPv4 and IPv6).
    listeners=$(ss -Hltnp 2>/dev/null | awk '{
        port = $4; sub(/.*:/, "", port)
        rest = $0; n = 0
        while (match(rest, /\("[^"]*",pid=[0-9]+/)) {
            item = substr(rest, RSTART + 2, RLENGTH - 2); rest = substr(rest, RSTART + RLENGTH)
            split(item, f, "\",pid="); print port "\t" f[1] "\t" f[2]; n++
        }
        if (n == 0) print port "\t\t"
    }' | sort -u)
    own=$(own_gateway_pids)
    local IFS=,
    for spec in $ports; do
        owner=${spec%%:*}
        port=${spec##*:}
        while IFS=$'\t' read -r holder name pid; do
            [[ $holder == "$port" ]] || continue
            if [[ -z $pid ]]; then
                problem "port $port (for $owner) is in use by a process this check cannot see: run it as root, or find it with ss -ltnp 'sport = :$port'"
            elif grep -Fxq -- "$pid" <<<"$own"; then
                continue
            elif [[ $existing_traefik == true && $owner == traefik && $name == traefik ]]; then
                continue
            else
                problem "port $port (for $owner) is in use by $name (pid $pid): $(advice_for "$name" "$port")"
            fi
        done <<<"$listeners"
    done
}
check_ports

if ((problems > 0)); then
    printf 'homemail preflight: %d problem(s) on this VPS; nothing was changed\n' "$problems" >&2
    exit 1
fi
printf 'homemail preflight: ok (docker %s, compose %s)\n' "$server" "$compose"

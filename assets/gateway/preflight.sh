#!/usr/bin/env bash
# managed by homemail, do not edit
#
# Preflight of the homemail VPS gateway: stops `pulumi up` with one clear line per problem before
# anything is installed on the VPS. Read-only. Run as root (directly or through sudo).
#
#   preflight.sh [--firewall]
#
# Checks: Docker Engine >= HOMEMAIL_MIN_DOCKER (default 20.10, the first with the compose-spec
# features used here) is installed and its daemon answers; the compose plugin (`docker compose`,
# v2) >= HOMEMAIL_MIN_COMPOSE (default 2.20: `up --wait`, top-level `name:`); with --firewall also
# iptables, iptables-restore and flock.
set -Eeuo pipefail

min_docker=${HOMEMAIL_MIN_DOCKER:-20.10}
min_compose=${HOMEMAIL_MIN_COMPOSE:-2.20}
firewall=false
for arg in "$@"; do
    case $arg in
        --firewall) firewall=true ;;
        *) printf 'homemail preflight: unknown argument %s\n' "$arg" >&2; exit 2 ;;
    esac
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

if ((problems > 0)); then
    printf 'homemail preflight: %d problem(s) on this VPS; nothing was changed\n' "$problems" >&2
    exit 1
fi
printf 'homemail preflight: ok (docker %s, compose %s)\n' "$server" "$compose"

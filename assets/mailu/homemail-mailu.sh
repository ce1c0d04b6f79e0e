#!/usr/bin/env bash
# managed by homemail, do not edit
#
# Mailu at home: host checks, start, and users/aliases as code.
#
# Usage:
#   homemail-mailu preflight            Docker engine and compose plugin present and answering
#   homemail-mailu up                   validate the compose project, then start it and wait until healthy
#   homemail-mailu down                 stop the compose project (data under the data root stays)
#   homemail-mailu nonlocal-bind-restore
#                                       set net.ipv4.ip_nonlocal_bind to what the host's own sysctl
#                                       files say (homemail's file excepted; 0 when none sets it)
#   homemail-mailu import < mailu.yaml  Mailu's config-import: a dry run (-n) first, then --update (merge)
#                                       without the YAML's "-prune-" markers, then with them (every
#                                       list of a listed domain or alias ends up as in the YAML)
#   homemail-mailu reconcile [--prune]  compare Mailu's users and aliases with accounts.list: report the
#                                       extra ones; with --prune delete those that were removed from the
#                                       stack config (never the ones made in the admin GUI)
#
# Exit 0 on success; 1 with "homemail-mailu: ..." or "preflight: ..." lines on stderr; 2 on bad usage.
# The import YAML (passwords, DKIM keys) arrives on stdin only and never reaches a log line.
#
# Environment (for tests): HOMEMAIL_MAILU_DIR (default /opt/homemail/mailu), HOMEMAIL_MAILU_STATE_DIR
# (default $HOMEMAIL_MAILU_DIR/state), HOMEMAIL_MAILU_WAIT_SECONDS (default 900),
# HOMEMAIL_MAILU_CERT_WAIT_SECONDS (default 600), HOMEMAIL_MAILU_CERT_POLL_SECONDS (default 5),
# HOMEMAIL_SMTP_EGRESS (default /usr/local/sbin/homemail-smtp-egress), HOMEMAIL_MAILU_SYSCTL_FILE
# (homemail's sysctl file), HOMEMAIL_SYSCTL_DIRS / HOMEMAIL_SYSCTL_CONF (where the host's own sysctl
# settings are read).
set -Eeuo pipefail

dir=${HOMEMAIL_MAILU_DIR:-/opt/homemail/mailu}
state_dir=${HOMEMAIL_MAILU_STATE_DIR:-$dir/state}
wait_seconds=${HOMEMAIL_MAILU_WAIT_SECONDS:-900}
cert_wait_seconds=${HOMEMAIL_MAILU_CERT_WAIT_SECONDS:-600}
cert_poll_seconds=${HOMEMAIL_MAILU_CERT_POLL_SECONDS:-5}
smtp_egress=${HOMEMAIL_SMTP_EGRESS:-/usr/local/sbin/homemail-smtp-egress}

umask 077
tmp_files=()
cleanup() {
    if ((${#tmp_files[@]} > 0)); then
        rm -f -- "${tmp_files[@]}"
    fi
}
trap cleanup EXIT

die() {
    printf 'homemail-mailu: %s\n' "$*" >&2
    exit 1
}

# new_tmp NAME [DIR]: a fresh 0600 file (umask 077), removed at exit; its path goes into NAME.
new_tmp() {
    local file
    file=$(mktemp "${2:-${TMPDIR:-/tmp}}/.homemail-mailu.XXXXXX")
    tmp_files+=("$file")
    printf -v "$1" '%s' "$file"
}

compose() {
    docker compose --project-directory "$dir" -f "$dir/compose.yaml" "$@"
}

# Mailu's CLI inside the admin container (core/admin/mailu/manage.py).
mailu_cli() {
    compose exec -T admin flask mailu "$@"
}

# Mailu quotes offending values in its errors (Python repr: '...'). A password or a DKIM key must
# never reach a log line, so every quoted value is masked.
redact() {
    sed -E "s/'[^']*'/'<redacted>'/g"
}

cmd_preflight() {
    local problems=0 version=""
    problem() {
        printf 'preflight: %s\n' "$*" >&2
        problems=$((problems + 1))
    }
    if ! command -v docker >/dev/null 2>&1; then
        problem "docker not found: install Docker Engine (docker-ce from Docker's repository, or Debian's docker.io)"
    else
        if ! docker info >/dev/null 2>&1; then
            problem "the Docker engine does not answer (docker info failed): start it with systemctl start docker"
        fi
        if version=$(docker compose version --short 2>/dev/null); then
            version=${version#v}
            local major=${version%%.*} rest=${version#*.}
            local minor=${rest%%.*}
            # `up --wait` needs Compose 2.1 or newer.
            if ! [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] || ((major < 2 || (major == 2 && minor < 1))); then
                problem "docker compose $version is too old: homemail needs the compose plugin 2.1 or newer"
            fi
        else
            problem "the docker compose plugin is missing: install docker-compose-plugin (Docker's repository) or docker-compose-v2 (Ubuntu)"
        fi
    fi
    local tool
    for tool in sed grep sort comm awk mktemp timeout sysctl; do
        command -v "$tool" >/dev/null 2>&1 || problem "$tool not found: install it (coreutils, grep, sed, gawk or procps)"
    done
    if ((problems > 0)); then
        exit 1
    fi
    echo "preflight: ok (docker compose $version)"
}

# The certificates the front's certbot requests (core/nginx/letsencrypt.py: cert names mailu and
# mailu-ecdsa, config dir /certs/letsencrypt), as the front container sees them.
front_certificate=(
    /certs/letsencrypt/live/mailu/fullchain.pem /certs/letsencrypt/live/mailu/privkey.pem
    /certs/letsencrypt/live/mailu-ecdsa/fullchain.pem /certs/letsencrypt/live/mailu-ecdsa/privkey.pem
)

# A value of mailu.env (empty when unset).
mailu_env() {
    { sed -n "s/^$1=//p" "$dir/mailu.env" 2>/dev/null || true; } | head -n 1
}

front_has_certificate() {
    local test_args=() file
    for file in "${front_certificate[@]}"; do
        test_args+=(${test_args[@]+-a} -s "$file")
    done
    compose exec -T front test "${test_args[@]}" </dev/null >/dev/null 2>&1
}

wait_for_certificate() {
    local deadline=$((SECONDS + cert_wait_seconds))
    while ((SECONDS < deadline)); do
        sleep "$cert_poll_seconds"
        if front_has_certificate; then
            return 0
        fi
    done
    return 1
}

reapply_egress() {
    # Docker adds a raw-table drop for each container it starts, possibly above the SMTP egress
    # exception; put egress back in order now rather than at the next boot.
    if [[ -x $smtp_egress ]]; then
        "$smtp_egress" reapply || die "up: Mailu runs, but re-applying SMTP egress failed; run: $smtp_egress verify"
    fi
}

# With TLS_FLAVOR=letsencrypt the front gets its certificate by http-01 through the VPS, after it
# started. Until then its nginx serves only port 80, and the dovecot proxy in the front (IMAP, POP3,
# submission, sieve) cannot start; certbot's post-hook only reloads, so nothing starts it later. So:
# start, wait (bounded) for the certificate, and restart the front exactly once when it appears. A
# marker in the state directory remembers a front that started without it, so that a re-run after a
# timeout still restarts it once, and a re-run after success does not.
cmd_up() {
    [[ -f $dir/compose.yaml ]] || die "up: $dir/compose.yaml is missing"
    compose config --quiet || die "up: the compose project in $dir does not validate; nothing was started"
    mkdir -p "$state_dir"
    local without_certificate=$state_dir/front-started-without-certificate
    if ! timeout "$wait_seconds" docker compose --project-directory "$dir" -f "$dir/compose.yaml" up --detach --remove-orphans; then
        compose ps >&2 || true
        die "up: docker compose up failed; see: docker compose -f $dir/compose.yaml logs"
    fi
    if [[ $(mailu_env TLS_FLAVOR) == letsencrypt ]]; then
        if ! front_has_certificate; then
            : >"$without_certificate"
            local host
            host=$(mailu_env HOSTNAMES)
            host=${host%%,*}
            echo "up: waiting up to ${cert_wait_seconds}s for the front's Let's Encrypt certificate for ${host:-the mail host}"
            if ! wait_for_certificate; then
                reapply_egress
                die "up: no TLS certificate for ${host:-the mail host} after ${cert_wait_seconds}s. Let's Encrypt must reach http://${host:-<mail host>}/.well-known/acme-challenge/ on the VPS, which passes it to Mailu's front through the tunnel. Check: DNS: the A record of ${host:-the mail host} is the VPS's public IP (dig +short ${host:-<mail host>} A); port 80: the VPS provider's firewall lets it in and the gateway runs (curl -sI http://${host:-<mail host>}/.well-known/acme-challenge/x from outside answers 404, not a timeout); the tunnel is up (wg show wg0 on both hosts). PTR is not needed for the certificate, but set it now at the VPS provider (pulumi stack output ptr): receivers refuse mail without it. certbot's log: docker compose -f $dir/compose.yaml logs front. Then run pulumi up again: the front restarts once the certificate is there."
            fi
        fi
        if [[ -f $without_certificate ]]; then
            compose restart front || die "up: the certificate is there, but restarting the front failed; run: docker compose -f $dir/compose.yaml restart front"
            rm -f -- "$without_certificate"
            echo "up: the certificate is there; restarted the front once, so that its mail proxy starts with it"
        fi
    fi
    if ! timeout "$wait_seconds" docker compose --project-directory "$dir" -f "$dir/compose.yaml" up --detach --remove-orphans --wait; then
        compose ps >&2 || true
        die "up: Mailu did not become healthy within ${wait_seconds}s; see: docker compose -f $dir/compose.yaml logs"
    fi
    reapply_egress
    compose ps
}

cmd_down() {
    if [[ ! -f $dir/compose.yaml ]]; then
        echo "down: $dir/compose.yaml is gone; nothing to stop"
        return 0
    fi
    compose down --remove-orphans
}

# The sysctl files systemd-sysctl reads, in its order; the last one setting a key wins.
sysctl_files() {
    local d dirs
    read -r -a dirs <<<"${HOMEMAIL_SYSCTL_DIRS:-/etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d}"
    for d in "${dirs[@]}"; do
        if [[ -d $d ]]; then find "$d" -maxdepth 1 -name '*.conf' -printf '%f %p\n'; fi
    done | sort -s -k1,1 -u | cut -d' ' -f2-
    if [[ -f ${HOMEMAIL_SYSCTL_CONF:-/etc/sysctl.conf} ]]; then echo "${HOMEMAIL_SYSCTL_CONF:-/etc/sysctl.conf}"; fi
}

cmd_nonlocal_bind_restore() {
    local key=net.ipv4.ip_nonlocal_bind ours=${HOMEMAIL_MAILU_SYSCTL_FILE:-/etc/sysctl.d/60-homemail-mailu.conf}
    local value=0 file line
    while IFS= read -r file; do
        [[ $file == "$ours" ]] && continue
        while IFS= read -r line; do
            line=${line//[[:space:]]/}
            [[ $line == "$key="* || $line == "${key//./\/}="* ]] && value=${line#*=}
        done <"$file"
    done < <(sysctl_files)
    sysctl -q -w "$key=$value"
    echo "nonlocal-bind-restore: $key = $value"
}

# Mailu's "replace this list" marker, as the import YAML carries it: first in every list, which is a
# one-line flow sequence (components/render/mailu.ts, PRUNE_MARKER). Inside a quoted scalar a '"' is
# always escaped, so no value can imitate it.
prune_marker_sed='s/\["-prune-"(, )?/[/g'

# config-import --update joins list values with what Mailu has (a union), and honours the
# "-prune-" marker only on items that already exist; on a new item it would be stored as a literal
# destination (core/admin/mailu/schemas.py, _patch_item). So: a dry run and an import without the
# markers (creates what is new, changes nothing that exists but to add), then the same YAML with
# the markers (every item exists now: each list becomes exactly the one in the stack config).
cmd_import() {
    local yaml plain out
    new_tmp yaml
    new_tmp plain
    new_tmp out
    cat >"$yaml"
    [[ -s $yaml ]] || die "import: no YAML on stdin"
    sed -E "$prune_marker_sed" <"$yaml" >"$plain"
    if ! mailu_cli config-import --dry-run --update - <"$plain" >"$out" 2>&1; then
        redact <"$out" >&2
        die "import: the dry run failed; Mailu was not changed"
    fi
    redact <"$out"
    if ! mailu_cli config-import --update - <"$plain" >"$out" 2>&1; then
        redact <"$out" >&2
        die "import: config-import failed after a successful dry run"
    fi
    redact <"$out"
    if ! grep -qF '["-prune-"' "$yaml"; then
        return 0
    fi
    if ! mailu_cli config-import --update - <"$yaml" >"$out" 2>&1; then
        redact <"$out" >&2
        die "import: new items are in Mailu, but replacing lists (removed destinations, alternative domains) failed; run the import again"
    fi
    redact <"$out"
}

# Addresses of one kind ("user" or "alias") from a list of "<kind> <address>" lines.
accounts_of() {
    awk -v kind="$1" '$1 == kind && NF == 2 { print $2 }' | sort -u
}

# Addresses of one kind as Mailu has them (config-export --json <kind>.email).
mailu_accounts() {
    local json
    json=$(mailu_cli config-export --json "$1.email" </dev/null) || die "reconcile: config-export of $1 failed"
    { grep -oE '"email": ?"[^"]*"' <<<"$json" || true; } | sed -E 's/^"email": ?"//; s/"$//' | sort -u
}

cmd_reconcile() {
    local prune=false
    case ${1:-} in
    --prune) prune=true ;;
    "") ;;
    *)
        echo "usage: homemail-mailu reconcile [--prune]" >&2
        exit 2
        ;;
    esac
    local accounts=$dir/accounts.list managed_file=$state_dir/managed-accounts
    [[ -f $accounts ]] || die "reconcile: $accounts is missing"
    mkdir -p "$state_dir"
    local next
    new_tmp next "$state_dir"

    local kind desired managed existing address kept=0 deleted=0 foreign=0 missing=0
    for kind in user alias; do
        local really=()
        if [[ $kind == user ]]; then
            really=(--really)
        fi
        desired=$(accounts_of "$kind" <"$accounts")
        managed=""
        if [[ -f $managed_file ]]; then
            managed=$(accounts_of "$kind" <"$managed_file")
        fi
        existing=$(mailu_accounts "$kind")

        while IFS= read -r address; do
            [[ -n $address ]] || continue
            echo "missing $kind $address: in the stack config but not in Mailu"
            missing=$((missing + 1))
        done < <(comm -23 <(printf '%s\n' "$desired") <(printf '%s\n' "$existing"))

        while IFS= read -r address; do
            [[ -n $address ]] || continue
            if grep -Fxq -- "$address" <<<"$managed"; then
                if $prune; then
                    # user-delete alone only disables the user; --really deletes it (its maildir stays).
                    mailu_cli "$kind-delete" "${really[@]}" "$address" </dev/null >/dev/null || die "reconcile: could not delete $kind $address"
                    echo "deleted $kind $address: removed from the stack config (homemail:mailu.pruneRemoved is true)"
                    deleted=$((deleted + 1))
                else
                    echo "kept $kind $address: removed from the stack config; set homemail:mailu.pruneRemoved true to delete it"
                    printf '%s %s\n' "$kind" "$address" >>"$next"
                    kept=$((kept + 1))
                fi
            else
                echo "kept $kind $address: not managed by homemail (made in the admin GUI)"
                foreign=$((foreign + 1))
            fi
        done < <(comm -13 <(printf '%s\n' "$desired") <(printf '%s\n' "$existing"))

        while IFS= read -r address; do
            if [[ -n $address ]]; then
                printf '%s %s\n' "$kind" "$address" >>"$next"
            fi
        done <<<"$desired"
    done

    sort -u -o "$next" "$next"
    chmod 0600 "$next"
    mv -f "$next" "$managed_file"
    echo "reconcile: ok ($deleted deleted, $kept kept after removal from the config, $foreign not managed, $missing missing)"
}

usage() {
    sed -n '6,18p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-}
    if (($# > 0)); then
        shift
    fi
    case $cmd in
    preflight) cmd_preflight "$@" ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    nonlocal-bind-restore) cmd_nonlocal_bind_restore "$@" ;;
    import) cmd_import "$@" ;;
    reconcile) cmd_reconcile "$@" ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"

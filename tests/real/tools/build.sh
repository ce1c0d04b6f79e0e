#!/usr/bin/env bash
# Build the real-run layer's tools from Go modules into a cache outside the repository.
#
#   tests/real/tools/build.sh [NAME...]      (default: every tool)
#
# Cache: ${HOMEMAIL_TOOLS_CACHE:-$HOME/.cache/homemail-tools}
#   builds/<name>-<version>-<key>/   one build; <key> hashes the wrapper module (go.mod, go.sum,
#                                    *.go) and the Go version, so a changed wrapper rebuilds
#   bin/                             symlinks to the current builds (put it first on PATH)
#   docker/cli-plugins/docker-compose   DOCKER_CONFIG=<cache>/docker gives `docker compose`
#   gomodcache/, gocache/            GOMODCACHE and GOCACHE, so a rebuild downloads nothing
#   timings.log                      one line per tool and run: built in N s, or cached
# A warm run (every key present) only checks stamps and relinks: seconds.
set -Eeuo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${HOMEMAIL_TOOLS_CACHE:-$HOME/.cache/homemail-tools}"
mkdir -p "$cache/builds" "$cache/bin" "$cache/docker/cli-plugins"

export GOMODCACHE="$cache/gomodcache"
export GOCACHE="$cache/gocache"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export CGO_ENABLED=0

log() { printf 'build-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v go >/dev/null || die "go is not on PATH (Go 1.26 is needed)"

# wrapper_key DIR: a short hash of everything in the wrapper that decides the build.
wrapper_key() {
  local dir="$1"
  (
    cd "$dir"
    go env GOVERSION
    find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | LC_ALL=C sort -z |
      xargs -0 sha256sum
  ) | sha256sum | cut -c1-16
}

# build NAME VERSION WRAPPER PACKAGE BINARY [LDFLAGS]: go build PACKAGE inside the wrapper
# module into builds/NAME-VERSION-KEY/BINARY, unless that build is already there.
build() {
  local name="$1" version="$2" wrapper="$here/$3" package="$4" binary="$5" ldflags="${6:-}"
  local key dir started
  key="$(wrapper_key "$wrapper")"
  dir="$cache/builds/$name-$version-$key"
  if [ -e "$dir/.ok" ]; then
    log "$name $version: cached ($dir)"
    printf '%s %s %s cached\n' "$(date -u +%FT%TZ)" "$name" "$version" >> "$cache/timings.log"
  else
    log "$name $version: building (cold builds take minutes)"
    started=$(date +%s)
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    # Every module the wrapper needs must be in the (sparse) module proxy: fail here, named.
    (cd "$wrapper" && go mod download all) || die "$name: go mod download all failed in $wrapper"
    (cd "$wrapper" && go build -ldflags "-s -w $ldflags" -o "$dir.tmp/$binary" "$package") ||
      die "$name: go build $package failed"
    touch "$dir.tmp/.ok"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
    log "$name $version: built in $(( $(date +%s) - started )) s"
    printf '%s %s %s built %s s\n' "$(date -u +%FT%TZ)" "$name" "$version" \
      "$(( $(date +%s) - started ))" >> "$cache/timings.log"
  fi
  ln -sfn "$dir/$binary" "$cache/bin/$binary"
}

# Versions: keep in step with tests/real/README.md.
pulumi_version=3.276.0
traefik_version=v3.6.12
pebble_version=v2.10.3
compose_version=v2.40.3

build_pulumi() {
  build pulumi "$pulumi_version" pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$pulumi_version"
}
build_langhost() {
  # Stand-in for pulumi-language-nodejs (its module is not served): see langhost/main.go.
  build langhost "$pulumi_version" pulumi ./langhost pulumi-language-nodejs \
    "-X main.version=$pulumi_version"
}
build_traefik() {
  build traefik "$traefik_version" traefik github.com/traefik/traefik/v3/cmd/traefik traefik \
    "-X github.com/traefik/traefik/v3/pkg/version.Version=$traefik_version"
}
build_pebble() {
  build pebble "$pebble_version" pebble github.com/letsencrypt/pebble/v2/cmd/pebble pebble
}
build_compose() {
  build compose "$compose_version" compose github.com/docker/compose/v2/cmd docker-compose \
    "-X github.com/docker/compose/v2/internal.Version=$compose_version"
  ln -sfn "$cache/bin/docker-compose" "$cache/docker/cli-plugins/docker-compose"
}

all=(pulumi langhost traefik pebble compose)
wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=("${all[@]}")
started_all=$(date +%s)
for tool in "${wanted[@]}"; do
  case " ${all[*]} " in
    *" $tool "*) "build_$tool" ;;
    *) die "unknown tool '$tool' (known: ${all[*]})" ;;
  esac
done
log "done in $(( $(date +%s) - started_all )) s; PATH=$cache/bin:\$PATH"

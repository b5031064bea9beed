#!/usr/bin/env bash
# CI check of compose/ and docker/ without a Docker engine:
#  1. `docker-compose config -q` of docker-compose.yml alone and with every *.override.yml, with
#     the example settings and every profile (installs Debian's docker-compose when missing);
#  2. the rendered config never sets TICKETING_DEV_LOGIN, and the mounted paths exist;
#  3. the Dockerfile builds as the README does: it runs scripts/build, installs the "# build"
#     group of scripts/bootstrap's package list (docker/build-packages), copies every directory
#     CMakeLists.txt adds, and its runtime packages provide every library the native binaries link;
#  4. the nginx entrypoint renders the repository's template into a config `nginx -t` accepts.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
COMPOSE="$REPO/compose"
DOCKERFILE="$REPO/docker/Dockerfile"
failures=0

say() { printf '[check_compose] %s\n' "$*"; }
fail() { say "FAIL: $*"; failures=$((failures + 1)); }

ensure_docker_compose() {
  command -v docker-compose >/dev/null && return
  say "installing docker-compose (Debian package)"
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
    docker-compose >/dev/null
}

compose() { (cd "$COMPOSE" && docker-compose --env-file .env.example "$@"); }

check_compose_files() {
  local files=(docker-compose.yml) override rendered
  for override in "$COMPOSE"/*.override.yml; do files+=("$(basename "$override")"); done
  for override in "${files[@]}"; do
    local args=(-f docker-compose.yml)
    [[ "$override" == docker-compose.yml ]] || args+=(-f "$override")
    if rendered="$(compose "${args[@]}" --profile loadtest --profile monitoring config 2>&1)"; then
      say "ok   docker-compose ${args[*]} config"
    else
      fail "docker-compose ${args[*]} config: $rendered"
      continue
    fi
    compose "${args[@]}" config -q || fail "docker-compose ${args[*]} config -q (default profile)"
    grep -q TICKETING_DEV_LOGIN <<<"$rendered" && fail "$override sets TICKETING_DEV_LOGIN"
  done
  local path
  for path in schema nginx k6 web; do
    [[ -d "$REPO/$path" ]] || fail "compose mounts ../$path, which does not exist"
  done
}

check_dockerfile_build() {
  grep -Eq '^RUN scripts/build$' "$DOCKERFILE" || fail "the Dockerfile does not RUN scripts/build"
  grep -q 'docker/build-packages scripts/bootstrap' "$DOCKERFILE" \
    || fail "the Dockerfile does not install docker/build-packages' list of scripts/bootstrap"
  local packages
  packages="$("$REPO/docker/build-packages" "$REPO/scripts/bootstrap")" \
    || fail "docker/build-packages found no build group in scripts/bootstrap"
  local tool
  for tool in g++ cmake ninja-build; do
    [[ " $packages " == *" $tool "* ]] || fail "build packages lack $tool: $packages"
  done
  local dir
  # shellcheck disable=SC2013  # directory names have no spaces
  for dir in $(sed -n 's/^ *add_subdirectory(\([^) ]*\)).*/\1/p' "$REPO/CMakeLists.txt"); do
    grep -Eq "^COPY $dir/ $dir/$" "$DOCKERFILE" || fail "the build stage does not COPY $dir/"
  done
  say "ok   build stage: scripts/build with [$packages]"
}

# Every shared library of the native binaries must come from a runtime package or a package
# those depend on (or one debian:12-slim always has).
check_runtime_packages() {
  local bins=("$REPO"/build/workers/ticketing-worker "$REPO"/build/outbox/ticketing-relay
    "$REPO"/build/outbox/ticketing-consumer)
  if [[ ! -x "${bins[0]}" ]]; then
    say "skip runtime libraries: no native build in build/"
    return
  fi
  local runtime closure lib pkg
  runtime="$(sed -n 's/^ARG RUNTIME_PACKAGES="\(.*\)"$/\1/p' "$DOCKERFILE")"
  [[ -n "$runtime" ]] || { fail "no ARG RUNTIME_PACKAGES in the Dockerfile"; return; }
  # shellcheck disable=SC2086  # a word list
  closure=" $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances $runtime libc6 libstdc++6 2>/dev/null \
    | grep -v '^ ' | tr -d '<>' | sort -u | tr '\n' ' ') "
  for lib in $(ldd "${bins[@]}" | awk '$3 ~ /^\// {print $1}' | sort -u); do
    pkg="$(dpkg -S "*/$lib" 2>/dev/null | head -n 1 | cut -d: -f1)"
    [[ -n "$pkg" ]] || { fail "no Debian package owns $lib"; continue; }
    [[ "$closure" == *" $pkg "* ]] || fail "$lib ($pkg) is not provided by RUNTIME_PACKAGES: $runtime"
  done
  say "ok   runtime packages [$runtime] provide every linked library"
}

check_nginx_render() {
  if ! command -v nginx >/dev/null || ! command -v envsubst >/dev/null; then
    say "skip nginx render: nginx or envsubst not installed"
    return
  fi
  local out
  out="$(mktemp -d)"
  if NGINX_SRC="$REPO/nginx" NGINX_PREFIX="$out" WORKER_ADDRS="172.28.0.5 172.28.0.6" \
    WEB_ROOT="$REPO/web" METRICS_ALLOW=172.28.0.0/16 "$REPO/docker/nginx-entrypoint" --render \
    2>"$out/err"; then
    grep -q 'server 172.28.0.6:9000' "$out/nginx.conf" || fail "rendered upstream lacks a replica"
    say "ok   nginx-entrypoint --render: nginx -t accepts the config"
  else
    fail "nginx -t rejected the compose nginx config: $(cat "$out/err")"
  fi
  rm -rf "$out"
}

ensure_docker_compose
check_compose_files
check_dockerfile_build
check_runtime_packages
check_nginx_render
if ((failures)); then
  say "$failures check(s) failed"
  exit 1
fi
say "all checks passed"

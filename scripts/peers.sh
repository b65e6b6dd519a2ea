#!/usr/bin/env bash
# Installs the real peers snapbridge's tests talk to, into a cache directory, once:
#   bin/prometheus, bin/promtool, bin/victoria-metrics  (Debian trixie packages, extracted)
#   bin/redis-server, bin/redis-cli                     (Debian package, apt-get install)
#   venv/                                               (prometheus_client, OpenTelemetry protos, grpcio)
# and writes env.sh exporting SNAPBRIDGE_* variables that point at them.
#
# Idempotent: a second run only checks that everything is there.
# Nothing here touches the system's apt sources: trixie packages are downloaded with an
# isolated apt configuration (its own sources list, lists and cache) and unpacked with
# dpkg-deb -x, so the system keeps its own Prometheus (or none).
set -euo pipefail

DIR="${SNAPBRIDGE_PEERS_DIR:-$HOME/.cache/snapbridge-peers}"
mkdir -p "$DIR/bin"
log() { printf '[peers] %s\n' "$*" >&2; }
die() { printf '[peers] ERROR: %s\n' "$*" >&2; exit 1; }

mirror_uri() {
    # The first URIs line of the system's Debian sources: never a hard-coded host.
    local f uri=""
    for f in /etc/apt/sources.list.d/debian.sources; do
        [ -f "$f" ] && uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
    done
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || die "cannot find the Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    echo "$uri"
}

install_trixie() {
    # $@: package names whose binaries are missing from $DIR/bin
    local work uri keyring opts debs
    work=$(mktemp -d)
    trap 'rm -rf "$work"' RETURN
    uri=$(mirror_uri)
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "missing $keyring (package debian-archive-keyring)"
    mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
    echo "deb [signed-by=$keyring] $uri trixie main" > "$work/sources.list"
    opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
          -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1"
          -o "APT::Architecture=amd64" -q)
    log "downloading $* from Debian trixie ($uri)"
    apt-get "${opts[@]}" update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; die "apt-get update (trixie) failed"; }
    (cd "$work" && apt-get "${opts[@]}" download "$@" >"$work/download.log" 2>&1) \
        || { cat "$work/download.log" >&2; die "apt-get download $* failed"; }
    for deb in "$work"/*.deb; do
        dpkg-deb -x "$deb" "$DIR/root"
    done
}

need=()
[ -x "$DIR/root/usr/bin/prometheus" ] || need+=(prometheus)
[ -x "$DIR/root/usr/bin/promtool" ] || need+=(promtool)
[ -x "$DIR/root/usr/bin/victoria-metrics" ] || need+=(victoria-metrics)
if [ ${#need[@]} -gt 0 ]; then
    mkdir -p "$DIR/root"
    install_trixie "${need[@]}"
fi
for b in prometheus promtool victoria-metrics; do
    [ -x "$DIR/root/usr/bin/$b" ] || die "$b was not installed"
    ln -sf "$DIR/root/usr/bin/$b" "$DIR/bin/$b"
done

if ! command -v openssl >/dev/null 2>&1; then
    log "installing openssl (test certificates)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null 2>&1; } \
        || die "apt-get install openssl failed"
fi

if ! command -v redis-server >/dev/null 2>&1; then
    log "installing redis-server (apt-get)"
    # Keep the package from starting a system Redis on 6379: tests start their own.
    policy=/usr/sbin/policy-rc.d
    had_policy=0; [ -e "$policy" ] && had_policy=1
    [ $had_policy -eq 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/tmp/snapbridge-redis-install.log 2>&1; then
        apt-get update -q >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/tmp/snapbridge-redis-install.log 2>&1 \
            || { [ $had_policy -eq 1 ] || rm -f "$policy"; cat /tmp/snapbridge-redis-install.log >&2; die "apt-get install redis-server failed"; }
    fi
    [ $had_policy -eq 1 ] || rm -f "$policy"
fi
ln -sf "$(command -v redis-server)" "$DIR/bin/redis-server"
ln -sf "$(command -v redis-cli)" "$DIR/bin/redis-cli"

PY="$DIR/venv/bin/python"
if ! { [ -x "$PY" ] && "$PY" -c 'import prometheus_client, grpc, opentelemetry.proto.collector.metrics.v1.metrics_service_pb2_grpc' 2>/dev/null; }; then
    log "creating the Python venv (prometheus_client, opentelemetry-proto, grpcio)"
    python3 -m venv "$DIR/venv" || die "python3 -m venv failed (install python3-venv)"
    "$PY" -m pip install -q --disable-pip-version-check prometheus_client opentelemetry-proto grpcio protobuf \
        || die "pip install of the Python peers failed"
fi

cat > "$DIR/env.sh" <<EOF
export SNAPBRIDGE_PEERS_DIR="$DIR"
export SNAPBRIDGE_PROMETHEUS="$DIR/bin/prometheus"
export SNAPBRIDGE_PROMTOOL="$DIR/bin/promtool"
export SNAPBRIDGE_VICTORIA_METRICS="$DIR/bin/victoria-metrics"
export SNAPBRIDGE_REDIS_SERVER="$DIR/bin/redis-server"
export SNAPBRIDGE_PYTHON="$PY"
EOF

# Every peer must actually run.
"$DIR/bin/prometheus" --version >/dev/null 2>&1 || die "prometheus does not run"
"$DIR/bin/promtool" --version >/dev/null 2>&1 || die "promtool does not run"
"$DIR/bin/victoria-metrics" -version >/dev/null 2>&1 || die "victoria-metrics does not run"
"$DIR/bin/redis-server" --version >/dev/null 2>&1 || die "redis-server does not run"
"$PY" -c 'import prometheus_client, grpc' || die "the Python venv is broken"
log "peers ready in $DIR (source $DIR/env.sh)"

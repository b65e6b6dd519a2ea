#!/usr/bin/env bash
# Installs the real peers snapbridge's tests talk to, into a cache directory, once:
#   bin/prometheus, bin/promtool      Prometheus 3.x, built from its Go module at a pinned version
#   bin/otelcol                       an OpenTelemetry Collector assembled from pinned Go modules
#                                     (tests/peers/otelcol: our main.go, components.go, go.mod)
#   bin/prometheus-2.53, bin/promtool-2.53, bin/victoria-metrics
#                                     (Debian trixie packages, extracted; 2.53 is the LTS many run)
#   bin/redis-server, bin/redis-cli   (Debian package, apt-get install)
#   venv/                             (prometheus_client, OpenTelemetry protos, grpcio)
# and writes env.sh exporting SNAPBRIDGE_* variables that point at them.
#
# Idempotent: a second run only checks that everything is there. Cold, on 2 cores, the whole
# script took 30 minutes (2026-12-02, the machine busy with other builds; the Go builds are
# most of it) and is redone only in part when a pinned version (or a file under
# tests/peers/otelcol) changes.
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
done
ln -sf "$DIR/root/usr/bin/prometheus" "$DIR/bin/prometheus-2.53"
ln -sf "$DIR/root/usr/bin/promtool" "$DIR/bin/promtool-2.53"
ln -sf "$DIR/root/usr/bin/victoria-metrics" "$DIR/bin/victoria-metrics"

# --- Built from Go modules -------------------------------------------------------------
# Prometheus 3: the github.com/prometheus/prometheus module at a pinned version (module
# v0.3XX.Y is Prometheus 3.XX.Y). Its go.mod carries replace directives, so it cannot be
# `go install`ed or required as a dependency: it is downloaded into the module cache and
# built there as the main module, with every cloud service discovery left out
# (remove_all_sd) and without the web UI's assets (the API is all the tests use).
PROMETHEUS_MODULE=github.com/prometheus/prometheus
PROMETHEUS_MODULE_VERSION=v0.316.0
PROMETHEUS_VERSION=3.16.0
OTELCOL_SRC="$(cd "$(dirname "$0")/.." && pwd)/tests/peers/otelcol"
# The prometheus receiver imports Prometheus' service discovery: leave the cloud ones out
# (about 240 fewer packages to compile; the tests use static targets only).
OTELCOL_TAGS=remove_all_sd

command -v go >/dev/null 2>&1 || die "go not found: the Collector and Prometheus 3 are built from Go modules (install Go >= 1.26)"
# The builds must not pick up a workspace or flags from the caller's environment.
export GOWORK=off GOFLAGS=

build_prometheus() {
    local out="$DIR/go/prometheus-$PROMETHEUS_VERSION" src log
    if [ -x "$out/prometheus" ] && [ -x "$out/promtool" ]; then return; fi
    log "building Prometheus $PROMETHEUS_VERSION from $PROMETHEUS_MODULE@$PROMETHEUS_MODULE_VERSION (about 5-9 minutes cold)"
    log_file="$DIR/go/prometheus-build.log"
    mkdir -p "$DIR/go"
    src=$(go mod download -json "$PROMETHEUS_MODULE@$PROMETHEUS_MODULE_VERSION" 2>"$log_file" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    [ -n "$src" ] && [ -d "$src" ] || die "cannot download $PROMETHEUS_MODULE@$PROMETHEUS_MODULE_VERSION from the Go module proxy (see $log_file)"
    local v=github.com/prometheus/common/version
    local ldflags="-s -w -X $v.Version=$PROMETHEUS_VERSION -X $v.Revision=$PROMETHEUS_MODULE_VERSION -X $v.Branch=module -X $v.BuildUser=snapbridge-peers"
    mkdir -p "$out.tmp"
    for cmd in prometheus promtool; do
        (cd "$src" && go build -trimpath -tags remove_all_sd -ldflags "$ldflags" -o "$out.tmp/$cmd" "./cmd/$cmd") >>"$log_file" 2>&1 \
            || die "building $cmd $PROMETHEUS_VERSION failed (last lines of $log_file: $(tail -n 3 "$log_file" | tr '\n' ' '))"
    done
    rm -rf "$out" && mv "$out.tmp" "$out"
}

build_otelcol() {
    # Keyed by the content of our Collector sources: a change of pinned versions rebuilds.
    local key out log_file
    key=$( (cat "$OTELCOL_SRC/go.mod" "$OTELCOL_SRC/go.sum" "$OTELCOL_SRC"/*.go; echo "$OTELCOL_TAGS") | sha256sum | cut -c1-12)
    out="$DIR/go/otelcol-$key"
    if [ -x "$out/otelcol" ]; then echo "$out/otelcol"; return; fi
    mkdir -p "$DIR/go"
    log_file="$DIR/go/otelcol-build.log"
    log "building the OpenTelemetry Collector from $OTELCOL_SRC (about 5-10 minutes cold)"
    mkdir -p "$out.tmp"
    (cd "$OTELCOL_SRC" && go build -mod=readonly -trimpath -tags "$OTELCOL_TAGS" -ldflags "-s -w" -o "$out.tmp/otelcol" .) >"$log_file" 2>&1 \
        || die "building the OpenTelemetry Collector failed (last lines of $log_file: $(tail -n 3 "$log_file" | tr '\n' ' '))"
    rm -rf "$out" && mv "$out.tmp" "$out"
    # Builds of other pinned versions are not used any more.
    find "$DIR/go" -maxdepth 1 -name 'otelcol-*' ! -name "otelcol-$key" -exec rm -rf {} +
    echo "$out/otelcol"
}

build_prometheus
ln -sf "$DIR/go/prometheus-$PROMETHEUS_VERSION/prometheus" "$DIR/bin/prometheus"
ln -sf "$DIR/go/prometheus-$PROMETHEUS_VERSION/promtool" "$DIR/bin/promtool"
otelcol=$(build_otelcol)
ln -sf "$otelcol" "$DIR/bin/otelcol"

if ! command -v openssl >/dev/null 2>&1; then
    log "installing openssl (test certificates)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null 2>&1; } \
        || die "apt-get install openssl failed"
fi

if ! command -v systemd-analyze >/dev/null 2>&1; then
    log "installing systemd (systemd-analyze verify checks dist/snapbridge.service)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q systemd >/tmp/snapbridge-systemd-install.log 2>&1 \
        || { apt-get update -q >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -q systemd >/tmp/snapbridge-systemd-install.log 2>&1; } \
        || { cat /tmp/snapbridge-systemd-install.log >&2; die "apt-get install systemd failed"; }
fi

# The system's own commands: never the links this script made (a PATH holding $DIR/bin
# would otherwise link them to themselves).
system_command() {
    PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$DIR/bin" | paste -sd: -)" command -v "$1"
}
if ! system_command redis-server >/dev/null 2>&1; then
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
ln -sf "$(system_command redis-server)" "$DIR/bin/redis-server"
ln -sf "$(system_command redis-cli)" "$DIR/bin/redis-cli"

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
export SNAPBRIDGE_PROMETHEUS_LTS="$DIR/bin/prometheus-2.53"
export SNAPBRIDGE_PROMTOOL_LTS="$DIR/bin/promtool-2.53"
export SNAPBRIDGE_OTELCOL="$DIR/bin/otelcol"
export SNAPBRIDGE_VICTORIA_METRICS="$DIR/bin/victoria-metrics"
export SNAPBRIDGE_REDIS_SERVER="$DIR/bin/redis-server"
export SNAPBRIDGE_PYTHON="$PY"
EOF

# Every peer must actually run.
"$DIR/bin/prometheus" --version 2>&1 | grep -q "version $PROMETHEUS_VERSION" || die "prometheus $PROMETHEUS_VERSION does not run"
"$DIR/bin/promtool" --version >/dev/null 2>&1 || die "promtool does not run"
"$DIR/bin/prometheus-2.53" --version >/dev/null 2>&1 || die "prometheus 2.53 does not run"
"$DIR/bin/promtool-2.53" --version >/dev/null 2>&1 || die "promtool 2.53 does not run"
"$DIR/bin/otelcol" components >/dev/null 2>&1 || die "the OpenTelemetry Collector does not run"
"$DIR/bin/victoria-metrics" -version >/dev/null 2>&1 || die "victoria-metrics does not run"
"$DIR/bin/redis-server" --version >/dev/null 2>&1 || die "redis-server does not run"
"$PY" -c 'import prometheus_client, grpc' || die "the Python venv is broken"
log "peers ready in $DIR (source $DIR/env.sh)"

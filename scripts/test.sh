#!/usr/bin/env bash
# The whole test suite: installs the real peers the tests need (once, cached), then
# formatting, lints and every test. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s\n' "$*"; }

step "peers (scripts/peers.sh)"
scripts/peers.sh
# shellcheck disable=SC1091
source "${SNAPBRIDGE_PEERS_DIR:-$HOME/.cache/snapbridge-peers}/env.sh"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

# The feature sets an application embeds: each builds and is lint-clean on its own (the
# library, the binary when `cli` is in, the examples), and the minimal embedding, a crate
# that asks for `prometheus` alone, built by itself so no other member adds features.
for features in prometheus prometheus,otlp prometheus,redis prometheus,tls cli; do
    step "cargo clippy --no-default-features --features $features"
    cargo clippy --lib --bins --examples --no-default-features --features "$features" -- -D warnings
done
step "cargo clippy -p snapbridge-minimal (snapbridge with the prometheus feature alone)"
cargo clippy -p snapbridge-minimal -- -D warnings

# The minimum Rust version Cargo.toml states is the one the code needs (1.87 rejects its
# let chains): every target builds with exactly that toolchain (rustup installs it once;
# its own target dir, so the stable build is not invalidated).
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
step "cargo +$msrv check --workspace --all-targets (the rust-version of Cargo.toml)"
command -v rustup >/dev/null || {
    echo "scripts/test.sh: rustup is needed to check rust-version $msrv (https://rustup.rs)" >&2
    exit 1
}
rustup toolchain install "$msrv" --profile minimal --no-self-update
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check --workspace --all-targets

step "cargo doc --workspace --no-deps (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# The fuzzing harness' smoke run: a few seconds per target (proptest, a dev-dependency;
# redis-server from peers.sh). It fails loudly on a panic, an error of more than one line,
# or a missing peer. The 1M-case run is documented in docs/RELIABILITY.md, not run here.
step "fuzz smoke run (tests/fuzz_inputs.rs, tests/fuzz_sources.rs)"
cargo test --test fuzz_inputs --test fuzz_sources -- --nocapture

step "cargo test --workspace"
cargo test --workspace "$@"

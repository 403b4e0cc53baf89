# Sourced by the scripts that build: one build tree for cargo, maturin and napi.
#
# `napi build` always passes `--target`, and cargo keeps a target-specific tree apart from the
# default one; every cargo, maturin and napi command here therefore names the host's target, so
# dependencies are built once (a plain `cargo build` elsewhere is untouched: nothing is pinned in
# a cargo config). Binaries land in target/$CARGO_BUILD_TARGET/<profile>/.
CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/target}"
export CARGO_BUILD_TARGET CARGO_TARGET_DIR
# Where the debug binaries are (fake-gemini, crm-agent): the test suites in other languages read it.
export CRM_AGENT_BIN_DIR="${CRM_AGENT_BIN_DIR:-$CARGO_TARGET_DIR/$CARGO_BUILD_TARGET/debug}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# Sourced by the scripts: installs the system packages the build needs (once
# per machine) and points the build and the proof caches at persistent
# directories outside the checkout, so that later runs are incremental.

if ! command -v protoc >/dev/null 2>&1 || ! ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1; then
    echo "installing build packages: libclang-dev protobuf-compiler" >&2
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libclang-dev protobuf-compiler >/dev/null
fi

# The devnet actors (actors/) are compiled to wasm32 by ferrite-chain's build script.
if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    echo "installing the rust wasm32-unknown-unknown target" >&2
    rustup target add wasm32-unknown-unknown >&2
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ferrite-target}"
# Groth16 parameters for the test sizes, generated once per machine.
export FERRITE_PROOFS__PARAMETER_CACHE="${FERRITE_PROOFS__PARAMETER_CACHE:-$HOME/.cache/ferrite-params}"
export FERRITE_PROOFS__PARENT_CACHE="${FERRITE_PROOFS__PARENT_CACHE:-$HOME/.cache/ferrite-parents}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
FERRITE_BIN="$CARGO_TARGET_DIR/debug/ferrite"

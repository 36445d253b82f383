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
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
FERRITE_BIN="$CARGO_TARGET_DIR/debug/ferrite"

# The proof parameters and the SDR parent cache live where ferrite looks by
# default ([proofs] parameter_cache, parent_cache: /var/tmp/filecoin-*, as
# Lotus and Curio do), so `ferrite` run from any terminal finds what these
# scripts generated: nothing here sets FERRITE_PROOFS__* any more.
# Earlier versions of this script kept them in ~/.cache/ferrite-params and
# ~/.cache/ferrite-parents (the 2 KiB parameters take 11 to 20 minutes to
# generate). Those are linked into the default place rather than moved: a
# machine that keeps only $HOME/.cache between runs (a CI cache) keeps them,
# a link costs nothing to recreate, and no copy of gigabytes is needed when
# /var/tmp is another file system. A default directory that already exists
# (Lotus's files, say) gets a link per file that it lacks.
ferrite_link_cache() {
    local old="$1" new="$2" f
    [ -d "$old" ] && [ ! -L "$old" ] || return 0
    if [ ! -e "$new" ] && [ ! -L "$new" ]; then
        mkdir -p "$(dirname "$new")"
        ln -s "$old" "$new"
        echo "using $old through $new (ferrite's default)" >&2
    elif [ -d "$new" ] && [ "$(cd "$new" && pwd -P)" != "$(cd "$old" && pwd -P)" ]; then
        for f in "$old"/*; do
            [ -e "$f" ] || continue
            case "$f" in *.partial) continue ;; esac
            [ -e "$new/$(basename "$f")" ] || ln -s "$f" "$new/"
        done
    fi
}
ferrite_link_cache "$HOME/.cache/ferrite-params" /var/tmp/filecoin-proof-parameters
ferrite_link_cache "$HOME/.cache/ferrite-parents" /var/tmp/filecoin-parents

# The chain crate's differential tests keep the SNARKs they make (C2, Window
# PoSt, SnapDeals update proofs: most of their time) here between runs, keyed
# by their public inputs and the verifying keys (chain/tests/common/mod.rs);
# `FERRITE_TEST_PROOFS=off` makes them anew every run.
export FERRITE_TEST_PROOFS="${FERRITE_TEST_PROOFS:-$HOME/.cache/ferrite-test-proofs}"

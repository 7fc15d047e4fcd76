#!/bin/bash
# `make micropython-x86`: a 32-bit (x86) MicroPython unix port in build/micropython-x86/.
#
# `make bench` then measures the driver's heap on it too: its pointers, objects and
# interned-name entries have the size they have on ESP32 and RP2040, where the installed x64
# port overstates them. Needs gcc with -m32 (apt-installs gcc-multilib when root) and a
# MicroPython source tree, taken from the first of:
#   MICROPY_SRC=<a source tree>          used as it is
#   MICROPY_GIT=<a git dir> [MICROPY_REF] `git archive` of MICROPY_REF (default HEAD)
#   otherwise                            a shallow clone of github.com/micropython/micropython
#                                        at MICROPY_REF (default master)
# Submodules are not needed: ffi, btree and ssl are left out, and only asyncio is frozen.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/micropython-x86
WORK=$OUT/work
mkdir -p "$WORK"

if ! echo 'int main(void) { return 0; }' | gcc -m32 -x c - -o /dev/null 2>/dev/null; then
    if [ "$(id -u)" != 0 ]; then
        echo "gcc -m32 does not link: install gcc-multilib" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q gcc-multilib
fi

SRC=${MICROPY_SRC:-$WORK/src}
if [ ! -d "$SRC/ports/unix" ]; then
    rm -rf "$SRC"
    mkdir -p "$SRC"
    if [ -n "${MICROPY_GIT:-}" ]; then
        git --git-dir="$MICROPY_GIT" archive --format=tar "${MICROPY_REF:-HEAD}" | tar -x -C "$SRC"
    else
        git clone -q --depth 1 --branch "${MICROPY_REF:-master}" \
            https://github.com/micropython/micropython "$SRC"
    fi
fi
# The standard variant checks that the micropython-lib submodule is there; nothing from it
# is frozen here.
mkdir -p "$SRC/lib/micropython-lib"
touch "$SRC/lib/micropython-lib/README.md"
printf 'include("$(MPY_DIR)/extmod/asyncio")\n' > "$WORK/manifest.py"

make -s -C "$SRC/mpy-cross" -j"$(nproc)"
make -s -C "$SRC/ports/unix" -j"$(nproc)" VARIANT=standard BUILD="$WORK/build" \
    FROZEN_MANIFEST="$WORK/manifest.py" CFLAGS_EXTRA=-m32 LDFLAGS_EXTRA=-m32 \
    MICROPY_PY_FFI=0 MICROPY_PY_BTREE=0 MICROPY_PY_SSL=0 MICROPY_SSL_MBEDTLS=0 \
    MICROPY_SSL_AXTLS=0
cp "$WORK/build/micropython" "$OUT/micropython"
"$OUT/micropython" -c "import sys; assert sys.maxsize == 2**31 - 1; print('32-bit unix port:', sys.implementation.version, '->', '$OUT/micropython')"

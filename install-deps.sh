#!/bin/sh
# Installs every build, run and test dependency on Debian 12 (run as root).
# Used by the README's quick start, by CI (.ci/run) and by the container build.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    build-essential pkg-config ca-certificates \
    libhts-dev libcurl4-gnutls-dev libjansson-dev libarchive-dev zlib1g-dev libopenblas-dev \
    samtools tabix bubblewrap time groff-base \
    python3 python3-venv python3-numpy python3-sklearn python3-pandas python3-jsonschema python3-xgboost snakemake maven >/dev/null
# clang (libFuzzer) for make fuzz only: best effort, so a machine without
# it still builds and tests everything else (make fuzz then says why it skips)
# (libclang-rt-14-dev holds libFuzzer and the sanitizer runtimes)
if [ "${AO_NO_FUZZ:-0}" != 1 ]; then
    apt-get install -y -qq --no-install-recommends clang libclang-rt-14-dev >/dev/null 2>&1 ||
        echo "install-deps: clang/libFuzzer not installed: make fuzz will be skipped" >&2
fi
echo "install-deps: done"

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
echo "install-deps: done"

#!/bin/sh
# containers/build-image.sh — builds containers/Dockerfile and tags it
# agentomics:VERSION (`make image`). No registry has the image yet, so the
# workflows' container profiles use this local tag by default
# (nextflow --container, Snakemake's container key).
#
#   sh containers/build-image.sh                      # podman if installed, else docker
#   ENGINE=docker IMAGE=agentomics:dev sh containers/build-image.sh
#
# Environment: ENGINE (podman or docker), IMAGE [agentomics:$(cat VERSION)],
# BASE [debian:12-slim], AO_PULL_BASE (1: pull BASE first so its digest is the
# registry's [1]; 0: use the local copy, e.g. the debootstrapped
# localhost/debian:12-slim of make container-test), SOURCE_URL [the git
# remote's URL], BUILD_OPTS (more options for the engine's build, e.g.
# --runtime runc --network host).
#
# What it adds to a plain `docker build`:
# - the base pinned by digest when the engine can resolve one: BASE becomes
#   NAME@sha256:... for both stages, and the label
#   org.opencontainers.image.base.digest records it (without a digest, e.g.
#   an engine that keeps none for an imported image, the tag is used and the
#   script says so);
# - OCI labels: version (VERSION), revision (git HEAD, "-dirty" with local
#   changes), source (SOURCE_URL or the git remote; "unknown" without either),
#   licenses (MIT), created is left out so that the labels do not change from
#   one build of the same revision to the next.
set -eu
cd "$(dirname "$0")/.."
VERSION=$(cat VERSION)
ENGINE=${ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}
IMAGE=${IMAGE:-agentomics:$VERSION}
BASE=${BASE:-debian:12-slim}
command -v "$ENGINE" >/dev/null 2>&1 || { echo "build-image: $ENGINE is not installed (podman or docker)" >&2; exit 69; }

if [ "${AO_PULL_BASE:-1}" = 1 ]; then
    $ENGINE pull -q "$BASE" >/dev/null 2>&1 || echo "build-image: could not pull $BASE; using the local copy" >&2
fi
digest=""
case "$BASE" in
    *@sha256:*) digest=${BASE#*@} ;;
    *) if [ "$ENGINE" = podman ]; then
           digest=$($ENGINE image inspect --format '{{.Digest}}' "$BASE" 2>/dev/null || true)
       else   # docker: the registry digest, when the image came from one
           digest=$($ENGINE image inspect --format '{{range .RepoDigests}}{{.}} {{end}}' "$BASE" 2>/dev/null | tr ' ' '\n' | sed -n 's/.*@//p' | head -1 || true)
       fi ;;
esac
case "$digest" in
    sha256:*) base_ref="${BASE%@*}@$digest" ;;
    *) base_ref=$BASE; digest=""; echo "build-image: no digest for $BASE: the base is not pinned" >&2 ;;
esac

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[ "$revision" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && revision="$revision-dirty"
source=${SOURCE_URL:-$(git remote get-url origin 2>/dev/null || echo unknown)}

echo "build-image: $IMAGE from $base_ref (revision $revision)"
# shellcheck disable=SC2086
$ENGINE build ${BUILD_OPTS:-} -f containers/Dockerfile \
    --build-arg BASE="$base_ref" --build-arg BASE_NAME="${BASE%@*}" --build-arg BASE_DIGEST="$digest" \
    --build-arg VERSION="$VERSION" --build-arg REVISION="$revision" --build-arg SOURCE="$source" \
    -t "$IMAGE" .
echo "build-image: built $IMAGE"

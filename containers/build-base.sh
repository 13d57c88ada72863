#!/bin/sh
# Makes a local stand-in for debian:12-slim where no registry can be reached:
# debootstrap (minbase) from the Debian mirror apt already uses, imported into
# podman's store as localhost/debian:12-slim (or $1). Idempotent: does nothing
# when the image exists (set AO_REBUILD_BASE=1 to rebuild). Run as root.
#   sh containers/build-base.sh [IMAGE]
#   podman build -f containers/Dockerfile --build-arg BASE=localhost/debian:12-slim -t agentomics .
set -eu
IMAGE=${1:-localhost/debian:12-slim}
WORK=${AO_CONTAINER_WORK:-/var/tmp/agentomics-container}
PODMAN=${PODMAN:-podman}

if [ "${AO_REBUILD_BASE:-0}" != 1 ] && $PODMAN image exists "$IMAGE" 2>/dev/null; then
    echo "build-base: $IMAGE exists"; exit 0
fi
command -v debootstrap >/dev/null || { echo "build-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 69; }

# The mirror apt uses here (deb822 "URIs:" or one-line "deb URL bookworm"), else deb.debian.org.
MIRROR=${AO_DEBIAN_MIRROR:-}
if [ -z "$MIRROR" ]; then
    MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}
             /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) { if ($i ~ /debian\/?$/) { print $i; exit } break } }')
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=$(printf '%s\n' "$MIRROR" | sed 's#/debian/*$#/debian-security#')

ROOT="$WORK/rootfs"
rm -rf "$ROOT" && mkdir -p "$WORK"
echo "build-base: debootstrap bookworm from $MIRROR"
debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }

# Make it look like the official slim image: deb822 sources with updates and
# security, no package caches or lists, no docs.
rm -f "$ROOT/etc/apt/sources.list"
cat > "$ROOT/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat > "$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
printf 'APT::Install-Recommends "false";\n' > "$ROOT/etc/apt/apt.conf.d/docker-no-recommends"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/usr/share/doc/*/changelog* \
       "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* "$ROOT"/var/log/*.log
: > "$ROOT/etc/hostname"
# /etc/resolv.conf and /etc/hosts are provided by the container engine.
rm -f "$ROOT/etc/resolv.conf"

$PODMAN image rm -f "$IMAGE" >/dev/null 2>&1 || true
tar --numeric-owner -C "$ROOT" -c . | $PODMAN import --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
rm -rf "$ROOT"
echo "build-base: $IMAGE ($($PODMAN image inspect --format '{{.Size}}' "$IMAGE") bytes)"

#!/usr/bin/env bash
# Builds the local images the container tests need, on a machine with Docker but no image
# registry: a minimal Debian made with debootstrap and `docker import`ed, then two images
# made from it the same way. Each is cached by tag: an image that exists is not rebuilt.
#
#   distml-local/debian:bookworm   minbase Debian + ca-certificates (the Dockerfile's BASE_IMAGE)
#   distml-local/rust:bookworm     + gcc, this machine's Rust toolchain and CA bundle (its RUST_IMAGE)
#   distml-local/nginx:bookworm    + nginx-light (the front of the serving topology)
#
# The Debian mirror is the one this machine's apt uses (override with DEBIAN_MIRROR).
set -euo pipefail

SUITE="${DEBIAN_SUITE:-bookworm}"
BASE="distml-local/debian:$SUITE"
RUST="distml-local/rust:$SUITE"
NGINX="distml-local/nginx:$SUITE"

have() { docker image inspect "$1" >/dev/null 2>&1; }
if have "$BASE" && have "$RUST" && have "$NGINX"; then
  exit 0
fi

mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  grep -hoE '^(URIs:|deb) +[^ ]+/debian/?( |$)' /etc/apt/sources.list.d/*.sources \
    /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}' || true
}
MIRROR="$(mirror)"
[ -n "$MIRROR" ] || { echo "images.sh: no Debian mirror in apt's sources; set DEBIAN_MIRROR" >&2; exit 2; }
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null

WORK="$(mktemp -d /var/tmp/distml-images.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# apt inside a chroot: no daemons started by postinst scripts, no recommends, no caches kept.
chroot_apt() {
  local root="$1"; shift
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  chroot "$root" apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  rm -f "$root/usr/sbin/policy-rc.d"
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/*
}

import() {
  local root="$1" tag="$2"; shift 2
  tar -C "$root" -c . | docker import "$@" - "$tag" >/dev/null
  echo "images.sh: built $tag" >&2
}

ROOT="$WORK/base"
echo "images.sh: debootstrap $SUITE from $MIRROR" >&2
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$ROOT" "$MIRROR" >/dev/null
chroot "$ROOT" apt-get update -qq >/dev/null

if ! have "$NGINX"; then
  cp -a "$ROOT" "$WORK/nginx"
  chroot_apt "$WORK/nginx" nginx-light
  import "$WORK/nginx" "$NGINX" --change 'CMD ["nginx", "-g", "daemon off;"]'
  rm -rf "$WORK/nginx"
fi

if ! have "$RUST"; then
  cp -a "$ROOT" "$WORK/rust"
  chroot_apt "$WORK/rust" gcc libc6-dev
  # The build fetches crates, so it trusts what this machine trusts (a TLS proxy's CA too).
  cp -L /etc/ssl/certs/ca-certificates.crt "$WORK/rust/etc/ssl/certs/ca-certificates.crt"
  TOOLCHAIN="$(rustc --print sysroot)"
  mkdir -p "$WORK/rust/usr/local/rust"
  cp -a "$TOOLCHAIN/bin" "$TOOLCHAIN/lib" "$WORK/rust/usr/local/rust/"
  if [ -d "$TOOLCHAIN/libexec" ]; then cp -a "$TOOLCHAIN/libexec" "$WORK/rust/usr/local/rust/"; fi
  import "$WORK/rust" "$RUST" \
    --change 'ENV PATH=/usr/local/rust/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  rm -rf "$WORK/rust"
fi

chroot "$ROOT" apt-get clean
rm -rf "$ROOT"/var/lib/apt/lists/*
have "$BASE" || import "$ROOT" "$BASE"

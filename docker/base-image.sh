#!/usr/bin/env bash
# docker/base-image.sh — a Debian 12 base image for machines that reach a
# Debian package mirror but no container registry: debootstrap (minbase)
# from the mirror this machine's apt already uses, with this machine's apt
# sources inside, imported as IMAGE (default rdpfault-base:bookworm).
# Prints the image name. Reuses IMAGE when it exists, and a cached root
# file system tarball ($RDPFAULT_CACHE, default /var/cache/rdpfault).
#
#   BASE=$(bash docker/base-image.sh) && docker build --build-arg BASE=$BASE ...
set -euo pipefail
image="${1:-rdpfault-base:bookworm}"
cache="${RDPFAULT_CACHE:-/var/cache/rdpfault}"
tarball="$cache/debian-bookworm-minbase.tar"

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi

# The first Debian archive (not the security one) among the apt sources.
mirror=""
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
  [ -r "$f" ] || continue
  case "$f" in
    *.sources) m=$(awk '/^URIs:/ {print $2}' "$f" | grep -v -- '-security' | head -1) ;;
    *) m=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}' "$f" \
           | grep -v -- '-security' | head -1) ;;
  esac
  if [ -n "$m" ]; then mirror="$m"; break; fi
done
if [ -z "$mirror" ]; then
  echo "base-image: no Debian mirror found in /etc/apt/sources.list*" >&2
  exit 1
fi

mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' EXIT
  echo "base-image: debootstrap bookworm from $mirror" >&2
  debootstrap --variant=minbase bookworm "$root" "$mirror" >&2
  # The image uses this machine's apt sources (and keys), not a copy of a
  # mirror name in the repository.
  rm -f "$root/etc/apt/sources.list"
  mkdir -p "$root/etc/apt/sources.list.d"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] && cp "$f" "$root$f"
  done
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  chmod 0755 "$root" # mktemp made it 0700: it becomes the image's /
  tar -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
fi
docker import --change 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
echo "$image"

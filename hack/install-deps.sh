#!/usr/bin/env bash
# Installs the host tools the node service uses in the tests (mkfs.xfs, xfs_growfs from
# xfsprogs; mkfs.ext4, resize2fs, losetup, findmnt are in every Debian base image) when
# they are missing and this is a root shell with apt-get. Otherwise it only reports.
# `hack/install-deps.sh kind` also installs what the kind world needs: Debian's docker.io
# (dockerd, runc), debootstrap, jq, zstd and openssl.
set -euo pipefail

tools=(mkfs.xfs:xfsprogs xfs_growfs:xfsprogs mkfs.ext4:e2fsprogs resize2fs:e2fsprogs losetup:mount findmnt:util-linux blkid:util-linux)
if [[ "${1:-}" == kind ]]; then
	tools+=(dockerd:docker.io runc:runc debootstrap:debootstrap jq:jq zstd:zstd openssl:openssl)
fi
missing=()
for tool in "${tools[@]}"; do
	command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
if [[ ${#missing[@]} -eq 0 ]]; then
	exit 0
fi
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: missing ${pkgs[*]}; the volume tests that need them skip or fail without root" >&2
	exit 0
fi
echo "install-deps: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null

#!/usr/bin/env bash
# Prints the path of a Debian bookworm root filesystem made with debootstrap from Debian's
# packages (once, cached in the folder given, keyed by this file): the kind node's base and,
# imported as an image, the base of kube-proxy and of our vsphere-node image.
set -euo pipefail
work="$1"
mkdir -p "${work}"
packages=(
	# the kind node: systemd as init, networking and the container runtime's helpers
	systemd systemd-sysv dbus kmod iproute2 iptables nftables conntrack ethtool socat
	runc containernetworking-plugins libseccomp2 pigz ca-certificates jq procps
	# filesystems: what kubelet, the CSI node service and the test disks use
	mount util-linux e2fsprogs xfsprogs
)
key="$( (cat "${BASH_SOURCE[0]}"; echo "${packages[*]}") | sha256sum | cut -c1-12)"
dir="${work}/rootfs-${key}"
if [[ ! -f "${dir}.complete" ]]; then
	start=${SECONDS}
	echo "kind-build: debootstrap of Debian bookworm into ${dir} (once; several minutes)" >&2
	rm -rf "${dir}"
	debootstrap --variant=minbase --include="$(
		IFS=,
		echo "${packages[*]}"
	)" bookworm "${dir}" http://deb.debian.org/debian >"${work}/debootstrap.log" 2>&1 ||
		{ tail -20 "${work}/debootstrap.log" >&2; exit 1; }
	rm -rf "${dir}"/var/cache/apt/archives/*.deb "${dir}"/var/lib/apt/lists/* "${dir}"/usr/share/doc/* "${dir}"/usr/share/man/*
	touch "${dir}.complete"
	echo "kind-build: debootstrap took $((SECONDS - start)) s" >&2
fi
echo "${dir}"

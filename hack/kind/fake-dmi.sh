#!/bin/bash
# Run by the kind node's entrypoint (hack/kind/node-rootfs.sh puts it before kind's
# fix_product_uuid). On hosts without DMI (some VMs and sandboxes have no /sys/class/dmi), every
# kind node would report the same SystemUUID (derived from one machine ID) and vsphere-node,
# which reads the VM's identity from /sys/class/dmi/id, could not start. This gives the node
# container a /sys/class that holds the real classes plus a dmi/id directory, so that kind's
# fix_product_uuid then gives each node its own product_uuid, as on a VM: kubelet reports it as
# SystemUUID and vsphere-node reads it. Hosts with DMI are left as they are.
set -euo pipefail
[[ -d /sys/class/dmi/id ]] && exit 0
d=/kind/sysclass
mkdir -p "${d}"
mount -t tmpfs -o mode=0755 sysclass "${d}"
for e in /sys/class/*; do
	mkdir "${d}/${e##*/}"
	mount --bind "${e}" "${d}/${e##*/}"
done
mkdir -p "${d}/dmi/id"
echo kind >"${d}/dmi/id/product_name"
echo kind >/kind/product_name # kind's container hook binds it where a Pod sees this directory
touch "${d}/dmi/id/product_uuid"
chmod 0400 "${d}/dmi/id/product_uuid"
mount --rbind "${d}" /sys/class
echo "INFO: this host has no DMI: /sys/class/dmi/id is made up (hack/kind/fake-dmi.sh)" >&2

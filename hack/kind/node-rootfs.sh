#!/usr/bin/env bash
# Makes a kind node's root filesystem in <node-dir> the way kind's images/base/Dockerfile and its
# node image build do: the Debian rootfs, kind's base files (entrypoint, systemd units, containerd
# configuration), containerd, runc behind runc-nosysres, the CNI plugins, kubelet, kubeadm, kubectl.
# Arguments: rootfs node-dir kind-base-files containerd-dir kubelet kubeadm kubectl version
set -euo pipefail
rootfs="$1" R="$2" K="$3" containerd="$4" kubelet="$5" kubeadm="$6" kubectl="$7" version="$8"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cp -a "${rootfs}/." "${R}/"
install -m 0755 "${K}"/usr/local/bin/* "${R}/usr/local/bin/"
mkdir -p "${R}/kind" && cp -r "${K}/kind/." "${R}/kind/" && chmod -R u+w,go+rX "${R}/kind" && chmod 0755 "${R}"/kind/bin/*  # module files carry no exec bits
# Hosts without DMI: each node still gets its own product_uuid (hack/kind/fake-dmi.sh, run just
# before kind's fix_product_uuid). kind's container hook then checks the container's own /sys
# (not the node's) before it binds the node's product files over it: a Pod's sysfs has no DMI
# where the host has none.
install -m 0755 "${here}/fake-dmi.sh" "${R}/kind/bin/fake-dmi.sh"
sed -i 's|^fix_product_uuid$|/kind/bin/fake-dmi.sh\nfix_product_uuid|' "${R}/usr/local/bin/entrypoint"
grep -q '^/kind/bin/fake-dmi.sh$' "${R}/usr/local/bin/entrypoint"
sed -i 's|^if \[\[ -f /sys/\(.*\) \]\]; then$|if [[ -f "${bundle:?}"/rootfs/sys/\1 ]]; then|' "${R}/kind/bin/mount-product-files.sh"
[[ "$(grep -c 'rootfs/sys/.* ]]; then' "${R}/kind/bin/mount-product-files.sh")" == 3 ]]
mkdir -p "${R}/LICENSES" && cp "${K}"/LICENSES/* "${R}/LICENSES/"
install -m 0644 "${K}/etc/crictl.yaml" "${R}/etc/"
mkdir -p "${R}/etc/containerd" "${R}/etc/default" "${R}/etc/sysctl.d" "${R}/etc/systemd/system/kubelet.service.d"
install -m 0644 "${K}"/etc/containerd/* "${R}/etc/containerd/"
install -m 0644 "${K}"/etc/default/* "${R}/etc/default/"
install -m 0644 "${K}"/etc/sysctl.d/* "${R}/etc/sysctl.d/"
install -m 0644 "${K}"/etc/systemd/system/*.service "${K}"/etc/systemd/system/*.slice "${R}/etc/systemd/system/"
install -m 0644 "${K}"/etc/systemd/system/kubelet.service.d/* "${R}/etc/systemd/system/kubelet.service.d/"
# The RUN steps of kind's base Dockerfile: no services a container must not run.
find "${R}/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "${R}"/lib/systemd/system/multi-user.target.wants/* "${R}"/etc/systemd/system/*.wants/* \
	"${R}"/lib/systemd/system/local-fs.target.wants/* "${R}"/lib/systemd/system/sockets.target.wants/*udev* \
	"${R}"/lib/systemd/system/sockets.target.wants/*initctl* "${R}"/lib/systemd/system/basic.target.wants/*
grep -q '^ReadKMsg=no' "${R}/etc/systemd/journald.conf" || echo 'ReadKMsg=no' >>"${R}/etc/systemd/journald.conf"
ln -sf /usr/lib/systemd/systemd "${R}/sbin/init"
chroot "${R}" systemctl enable kubelet.service containerd.service undo-mount-hacks.service >/dev/null 2>&1
chroot "${R}" systemctl mask systemd-binfmt.service >/dev/null 2>&1
mkdir -p "${R}/etc/kubernetes/manifests" "${R}/kind/manifests"
# Nothing in the node may lower a process's oom_score_adj without CAP_SYS_RESOURCE: containerd
# clamps it instead of failing (kubelet then logs oom-score warnings only).
sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' "${R}/etc/containerd/config.toml"
install -m 0755 "${containerd}"/containerd "${containerd}"/containerd-shim-runc-v2 "${containerd}"/ctr "${R}/usr/local/bin/"
install -m 0755 "${here}/runc-nosysres" "${R}/usr/local/sbin/runc"
mkdir -p "${R}/opt/cni/bin" && cp -a "${R}"/usr/lib/cni/. "${R}/opt/cni/bin/"
chroot "${R}" /usr/local/bin/ctr oci spec |
	jq '.hooks.createContainer[.hooks.createContainer | length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
	jq 'del(.process.rlimits)' >"${R}/etc/containerd/cri-base.json"
install -m 0755 "${kubelet}" "${kubeadm}" "${kubectl}" "${R}/usr/bin/"
echo -n "${version}" >"${R}/kind/version"
# kind applies these after kubeadm init: no default CNI (hack/kind/up.sh routes pod CIDRs) and no
# default StorageClass (volumes come from vsphere-cloud's CSI driver).
cat >"${R}/kind/manifests/default-storage.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: kind-storage, namespace: kube-system}
data: {note: "no default StorageClass: volumes come from vsphere-cloud's CSI driver"}
YAML
cp "${R}/kind/manifests/default-storage.yaml" "${R}/kind/manifests/default-cni.yaml"
sed -i 's/kind-storage/kind-cni/; s/no default StorageClass: volumes come from vsphere-cloud.s CSI driver/no default CNI: hack\/kind\/up.sh routes pod CIDRs/' "${R}/kind/manifests/default-cni.yaml"

#!/usr/bin/env bash
# Builds the pinned etcd, kube-apiserver, kube-controller-manager and CSI sidecars (external-provisioner,
# external-attacher, external-resizer) from hack/tools into a cache outside the repository
# (hack/lib/build.sh) and reuses them when present. Prints one shell assignment per binary
# (TEST_ETCD=..., TEST_KUBE_APISERVER=..., TEST_CSI_PROVISIONER=..., ...), the variables test/e2e
# reads. CONTROL_PLANE_MINIMAL=1 builds only etcd and kube-apiserver (what make demo runs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/build.sh"

etcd_version="$(mod_version "${tools}/etcd" go.etcd.io/etcd/server/v3)"
echo "TEST_ETCD=$(cached_build "${tools}/etcd" etcd "${etcd_version}" go.etcd.io/etcd/server/v3 "-s -w")"
echo "TEST_KUBE_APISERVER=$(kube_build kube-apiserver)"
[[ "${CONTROL_PLANE_MINIMAL:-}" == 1 ]] && exit 0
# Only the volume controllers run (PV binder, attach-detach, expander): no scheduler or kubelet.
echo "TEST_KUBE_CONTROLLER_MANAGER=$(kube_build kube-controller-manager)"

sidecar() { # name module
	local built
	built="$(sidecar_build "$1" "$2")"
	echo "TEST_$(echo "${1#csi-}" | tr a-z A-Z | sed 's/^/CSI_/')=${built#* }"
}
sidecar csi-provisioner github.com/kubernetes-csi/external-provisioner/v6
sidecar csi-attacher github.com/kubernetes-csi/external-attacher/v4
sidecar csi-resizer github.com/kubernetes-csi/external-resizer/v2

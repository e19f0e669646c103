#!/usr/bin/env bash
# Builds, once and cached outside the repository keyed by versions and these scripts, what a kind
# cluster needs without a registry, and prints shell assignments for hack/kind/up.sh:
#   KIND=...            the kind CLI (sigs.k8s.io/kind, built from the Go module proxy)
#   KUBECTL=...         kubectl at the cluster's version
#   KIND_NODE_IMAGE=... the node image: Debian bookworm (debootstrap) with kind's base files,
#                       containerd and kubelet/kubeadm/kubectl built from source, runc and the CNI
#                       plugins from Debian, the control-plane, kube-proxy and pause images preloaded
#   STATIC_BASE_IMAGE=..., DEBIAN_BASE_IMAGE=...  the bases our Dockerfile's stages take
# On a machine that can pull public images (KIND_PUBLIC_IMAGES=1, or auto-detected by pulling
# kindest/node), the public node image and bases are used and nothing but kind and kubectl is built.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/build.sh"
kind_version=v0.33.0
containerd_version=v2.4.2
work="${cache}/kind"
mkdir -p "${work}"
log() { echo "kind-build: $*" >&2; }

# cached_install name version ldflags tags package...: go install at a pinned version.
cached_install() {
	local name="$1" version="$2" ldflags="$3" tags="$4"
	shift 4
	local dir="${cache}/bin/${name}-${version}"
	if [[ ! -x "${dir}/${name}" ]]; then
		local start=${SECONDS}
		log "building ${name} ${version} (once per version)"
		rm -rf "${dir}.tmp" && mkdir -p "${dir}.tmp"
		GOBIN="${dir}.tmp" CGO_ENABLED=0 go install -trimpath -tags "${tags}" -ldflags "${ldflags}" "$@"
		rm -rf "${dir}" && mv "${dir}.tmp" "${dir}"
		log "built ${name} in $((SECONDS - start)) s"
	fi
	echo "${dir}"
}

kind_bin="$(cached_install kind "${kind_version}" "-s -w" "" "sigs.k8s.io/kind@${kind_version}")/kind"
kubectl="$(kube_build kubectl)"
echo "KIND=${kind_bin}"
echo "KUBECTL=${kubectl}"

public="${KIND_PUBLIC_IMAGES:-auto}"
if [[ "${public}" == auto ]]; then
	public=0
	timeout 30 docker pull -q "kindest/node:${kube_version}" >/dev/null 2>&1 && public=1
fi
if [[ "${public}" == 1 ]]; then
	echo "KIND_NODE_IMAGE=kindest/node:${kube_version}"
	echo "STATIC_BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot"
	echo "DEBIAN_BASE_IMAGE=debian:bookworm-slim"
	exit 0
fi

# Everything below is keyed by the versions and by the files that make it.
key="$( (echo "${kube_version} ${kind_version} ${containerd_version}"; cat "${root}/hack/kind/build.sh" "${root}/hack/kind/rootfs.sh" "${root}/hack/kind/node-rootfs.sh" "${root}/hack/kind/fake-dmi.sh" "${root}/hack/kind/runc-nosysres") | sha256sum | cut -c1-12)"
node_image="vsphere-cloud/kind-node:${kube_version}-${key}"
static_image="vsphere-cloud/static-base:${key}"
debian_image="vsphere-cloud/debian-base:${key}"
echo "KIND_NODE_IMAGE=${node_image}"
echo "STATIC_BASE_IMAGE=${static_image}"
echo "DEBIAN_BASE_IMAGE=${debian_image}"
saved="${work}/images-${key}.tar.zst"
have() { docker image inspect "$1" >/dev/null 2>&1; }
if have "${node_image}" && have "${static_image}" && have "${debian_image}"; then
	exit 0
fi
if [[ -f "${saved}" ]]; then
	log "loading the cached images from ${saved}"
	zstd -dc "${saved}" | docker load -q >&2
	exit 0
fi

start=${SECONDS}
containerd_dir="$(cached_install containerd "${containerd_version}" \
	"-s -w -X github.com/containerd/containerd/v2/version.Version=${containerd_version}" "no_btrfs no_devmapper no_zfs no_aufs" \
	"github.com/containerd/containerd/v2/cmd/containerd@${containerd_version}" \
	"github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@${containerd_version}" \
	"github.com/containerd/containerd/v2/cmd/ctr@${containerd_version}")"
declare -A kbin
for b in kubelet kubeadm kube-scheduler kube-proxy kube-apiserver kube-controller-manager; do
	kbin[$b]="$(kube_build "$b")"
done
etcd_version="$(mod_version "${tools}/etcd" go.etcd.io/etcd/server/v3)"
etcd="$(cached_build "${tools}/etcd" etcd "${etcd_version}" go.etcd.io/etcd/server/v3 "-s -w")"
pause="${cache}/bin/pause-${kube_version}/pause"
if [[ ! -x "${pause}" ]]; then
	mkdir -p "$(dirname "${pause}")"
	gcc -Os -static -o "${pause}" "$(go -C "${tools}" list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c"
	strip "${pause}"
fi

rootfs="$("${root}/hack/kind/rootfs.sh" "${work}")"
tmp="$(mktemp -d "${work}/build.XXXXXX")"
trap 'rm -rf "${tmp}"' EXIT

# import dir ref [--change ...]: a single-layer image from a folder.
import() {
	local dir="$1" ref="$2"
	shift 2
	tar -C "${dir}" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$@" - "${ref}" >/dev/null
	log "imported ${ref}"
}
# minimal dir: passwd, group, tmp and CA certificates, for static binaries.
minimal() {
	mkdir -p "$1"/{etc/ssl/certs,tmp,usr/local/bin,var/run,home/nonroot}
	chmod 1777 "$1/tmp"
	echo 'hosts: files dns' >"$1/etc/nsswitch.conf"
	printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$1/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\nnonroot:x:65532:\n' >"$1/etc/group"
	chown 65532:65532 "$1/home/nonroot"
	cp "${rootfs}/etc/ssl/certs/ca-certificates.crt" "$1/etc/ssl/certs/"
}

# Bases for our Dockerfile: a distroless-like static base, and Debian with the filesystem tools.
minimal "${tmp}/static"
import "${tmp}/static" "${static_image}"
tar -C "${rootfs}" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "${debian_image}" >/dev/null
log "imported ${debian_image}"

# Control-plane images under the names kubeadm asks for (kubeadm config images list).
images=()
for c in kube-apiserver kube-controller-manager kube-scheduler; do
	minimal "${tmp}/${c}"
	cp "${kbin[$c]}" "${tmp}/${c}/usr/local/bin/"
	import "${tmp}/${c}" "registry.k8s.io/${c}:${kube_version}"
	images+=("registry.k8s.io/${c}:${kube_version}")
done
etcd_tag="$("${kbin[kubeadm]}" config images list --kubernetes-version "${kube_version}" 2>/dev/null | sed -n 's#^registry.k8s.io/etcd:##p')"
pause_tag="$("${kbin[kubeadm]}" config images list --kubernetes-version "${kube_version}" 2>/dev/null | sed -n 's#^registry.k8s.io/pause:##p')"
# The etcd under kubeadm's tag is the pinned one the local control plane runs (hack/tools/etcd).
minimal "${tmp}/etcd"
cp "${etcd}" "${tmp}/etcd/usr/local/bin/"
import "${tmp}/etcd" "registry.k8s.io/etcd:${etcd_tag}"
minimal "${tmp}/pause"
cp "${pause}" "${tmp}/pause/pause"
import "${tmp}/pause" "registry.k8s.io/pause:${pause_tag}" --change 'ENTRYPOINT ["/pause"]'
docker tag "registry.k8s.io/pause:${pause_tag}" registry.k8s.io/pause:3.10 # kind's containerd sandbox image
# kube-proxy needs iptables and conntrack: it runs on the Debian base.
mkdir -p "${tmp}/kube-proxy/usr/local/bin"
cp "${kbin[kube-proxy]}" "${tmp}/kube-proxy/usr/local/bin/"
printf 'FROM %s\nCOPY usr/local/bin/kube-proxy /usr/local/bin/kube-proxy\n' "${debian_image}" >"${tmp}/kube-proxy/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "registry.k8s.io/kube-proxy:${kube_version}" "${tmp}/kube-proxy" >/dev/null
images+=("registry.k8s.io/etcd:${etcd_tag}" "registry.k8s.io/pause:${pause_tag}" registry.k8s.io/pause:3.10 "registry.k8s.io/kube-proxy:${kube_version}")
docker save -o "${tmp}/preload.tar" "${images[@]}"

# The node image, as kind's node image build does: base, binaries, /kind/version, preloaded images.
node="${tmp}/node"
mkdir -p "${node}"
kindsrc="$(cd /tmp && go mod download -json "sigs.k8s.io/kind@${kind_version}" | jq -r .Dir)/images/base/files"
"${root}/hack/kind/node-rootfs.sh" "${rootfs}" "${node}" "${kindsrc}" "${containerd_dir}" "${kbin[kubelet]}" "${kbin[kubeadm]}" "${kubectl}" "${kube_version}"
# Preload: containerd in a throwaway container of the node rootfs imports the images.
tar -C "${node}" -c . | docker import - "${node_image}-raw" >/dev/null
id="vsphere-cloud-kind-build-$$"
docker rm -f "${id}" >/dev/null 2>&1 || true
docker run -d --name "${id}" --entrypoint sleep "${node_image}-raw" infinity >/dev/null
trap 'docker rm -f "${id}" >/dev/null 2>&1 || true; rm -rf "${tmp}"' EXIT
docker exec "${id}" sh -c 'containerd >/tmp/containerd.log 2>&1 &'
docker exec "${id}" sh -c 'for i in $(seq 1 30); do [ -S /run/containerd/containerd.sock ] && exit 0; sleep 1; done; cat /tmp/containerd.log; exit 1'
docker exec -i "${id}" ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - <"${tmp}/preload.tar" >/dev/null
docker exec "${id}" sh -c 'pkill containerd; sleep 2; rm -f /tmp/containerd.log'
docker commit "${id}" "${node_image}-preloaded" >/dev/null
docker rm -f "${id}" >/dev/null
docker rmi "${node_image}-raw" >/dev/null
# docker commit cannot set STOPSIGNAL: the image's settings come from a FROM-only build.
mkdir -p "${tmp}/nodectx"
printf 'FROM %s\nENV container=docker\nSTOPSIGNAL SIGRTMIN+3\nENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]\n' \
	"${node_image}-preloaded" >"${tmp}/nodectx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q -t "${node_image}" "${tmp}/nodectx" >/dev/null
docker rmi "${node_image}-preloaded" >/dev/null
log "saving the images to ${saved}"
docker save "${node_image}" "${static_image}" "${debian_image}" | zstd -T0 -3 -q -o "${saved}.tmp"
mv "${saved}.tmp" "${saved}"
log "node image and bases built in $((SECONDS - start)) s"

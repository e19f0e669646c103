# Sourced by hack/ scripts: builds pinned Go binaries once per version into a cache outside the
# repository (VSPHERE_CLOUD_CACHE, default ~/.cache/vsphere-cloud/bin/<name>-<version>/<name>).
# Go's own build cache shares compiled packages between binaries of one module, so building
# kubelet after kube-apiserver compiles only what kubelet adds.

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${VSPHERE_CLOUD_CACHE:-${HOME}/.cache/vsphere-cloud}"
tools="${root}/hack/tools"

mod_version() { # module-dir module
	go -C "$1" list -m -f '{{.Version}}' "$2"
}

# cached_build module-dir name version package ldflags [go build flags...]: prints the binary's path.
cached_build() {
	local dir="$1" name="$2" version="$3" pkg="$4" ldflags="$5"
	shift 5
	local out="${cache}/bin/${name}-${version}/${name}"
	if [[ ! -x "${out}" ]]; then
		local start=${SECONDS}
		echo "building ${name} ${version} into ${out} (once per version)" >&2
		mkdir -p "$(dirname "${out}")"
		CGO_ENABLED=0 go -C "${dir}" build -trimpath "$@" -ldflags "${ldflags}" -o "${out}.tmp" "${pkg}"
		mv "${out}.tmp" "${out}"
		echo "built ${name} ${version} in $((SECONDS - start)) s" >&2
	fi
	echo "${out}"
}

kube_version="$(mod_version "${tools}" k8s.io/kubernetes)"

# kube_build name: a Kubernetes binary (k8s.io/kubernetes/cmd/<name>) at the pinned version,
# stamped with its version as the release build does (kubeadm and kubelet check it).
kube_build() {
	local minor="${kube_version#v1.}" vflags="" pkg
	minor="${minor%%.*}"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		vflags+=" -X ${pkg}.gitVersion=${kube_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
		vflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
	done
	cached_build "${tools}" "$1" "${kube_version}" "k8s.io/kubernetes/cmd/$1" "-s -w ${vflags}"
}

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

# download name version url sha256-url: fetches an official release binary into the cache and
# checks it against its published SHA-256; prints its path, or fails quietly (no network, no
# such release) so that the caller builds from source. VSPHERE_CLOUD_BUILD_FROM_SOURCE=1 skips it.
download() {
	local name="$1" version="$2" url="$3" sum_url="$4"
	local out="${cache}/bin/${name}-${version}/${name}"
	[[ -x "${out}" ]] && { echo "${out}"; return 0; }
	[[ "${VSPHERE_CLOUD_BUILD_FROM_SOURCE:-}" == 1 ]] && return 1
	command -v curl >/dev/null || return 1
	local want
	want="$(curl -fsSL --connect-timeout 5 --max-time 30 "${sum_url}" 2>/dev/null | awk '{print $1}')" || return 1
	[[ "${want}" =~ ^[0-9a-f]{64}$ ]] || return 1
	mkdir -p "$(dirname "${out}")"
	curl -fsSL --connect-timeout 5 --max-time 600 -o "${out}.tmp" "${url}" 2>/dev/null || { rm -f "${out}.tmp"; return 1; }
	if [[ "$(sha256sum "${out}.tmp" | awk '{print $1}')" != "${want}" ]]; then
		echo "download: ${url} does not match its published SHA-256; building from source" >&2
		rm -f "${out}.tmp"
		return 1
	fi
	chmod +x "${out}.tmp" && mv "${out}.tmp" "${out}"
	echo "downloaded ${name} ${version} (official release, SHA-256 checked)" >&2
	echo "${out}"
}

goarch() { go env GOARCH; }

# kube_build name: a Kubernetes binary (k8s.io/kubernetes/cmd/<name>) at the pinned version:
# the official release binary where dl.k8s.io is reachable, otherwise built from source and
# stamped with its version as the release build does (kubeadm and kubelet check it).
kube_build() {
	local url="https://dl.k8s.io/release/${kube_version}/bin/linux/$(goarch)/$1"
	download "$1" "${kube_version}" "${url}" "${url}.sha256" && return 0
	local minor="${kube_version#v1.}" vflags="" pkg
	minor="${minor%%.*}"
	for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
		vflags+=" -X ${pkg}.gitVersion=${kube_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
		vflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
	done
	cached_build "${tools}" "$1" "${kube_version}" "k8s.io/kubernetes/cmd/$1" "-s -w ${vflags}"
}

# sidecar_build name module: a CSI sidecar (module/cmd/name) at the version hack/tools/go.mod
# pins, built from that module so it shares the Kubernetes packages Go's build cache holds for
# the control plane. Prints "version path". The cache key names the Kubernetes libraries too: the
# same sidecar release built against other libraries is another binary.
sidecar_build() {
	local version
	version="$(mod_version "${tools}" "$2")"
	echo "${version} $(cached_build "${tools}" "$1" "${version}-kubernetes-${kube_version}" "$2/cmd/$1" "-s -w -X main.version=${version}")"
}

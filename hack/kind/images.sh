#!/usr/bin/env bash
# Builds the images the manifests name, from this checkout, and prints their references:
#   ghcr.io/vsphere-cloud/{cloud-controller,vsphere-node,vcsim}:<tag>  with our Dockerfile
#   registry.k8s.io/sig-storage/csi-{provisioner,attacher,resizer,snapshotter}:<version>  from the
#     sidecars hack/ builds from source (the same versions the manifests name)
# Needs STATIC_BASE_IMAGE and DEBIAN_BASE_IMAGE (hack/kind/build.sh). The programs are compiled
# on the host and copied in (the Dockerfile's BINARIES=prebuilt), so no Go image is needed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/build.sh"
tag="${TAG:-v0.1.0}"
cd "${root}"
# BuildKit builds only the stages a target needs (the legacy builder would pull GO_IMAGE for the
# source stage). Docker 23+ clients need the buildx plugin for it; Debian's docker.io 20.10
# client (/usr/bin/docker, hack/install-deps.sh) has BuildKit built in.
if docker buildx version >/dev/null 2>&1; then
	builder=docker
elif [[ -x /usr/bin/docker && "$(/usr/bin/docker version --format '{{.Client.Version}}' 2>/dev/null)" == 20.* ]]; then
	builder=/usr/bin/docker
else
	echo "images: docker build needs BuildKit: install the buildx plugin (or Debian's docker.io)" >&2
	exit 1
fi
build() { DOCKER_BUILDKIT=1 "${builder}" build -q "$@" >/dev/null; }
mkdir -p _output/images/bin
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o _output/images/bin/ ./cmd/cloud-controller ./cmd/vsphere-node ./cmd/vsphere-csi-node ./hack/vcsim
for target in cloud-controller vsphere-node vcsim; do
	build --target "${target}" --build-arg BINARIES=prebuilt \
		--build-arg "STATIC_BASE=${STATIC_BASE_IMAGE}" --build-arg "DEBIAN_BASE=${DEBIAN_BASE_IMAGE}" \
		-t "ghcr.io/vsphere-cloud/${target}:${tag}" .
	echo "ghcr.io/vsphere-cloud/${target}:${tag}"
done

sidecar() { # name module
	local built version bin ctx
	built="$(sidecar_build "$1" "$2")"
	version="${built%% *}" bin="${built#* }"
	ctx="$(mktemp -d)"
	cp "${bin}" "${ctx}/$1"
	printf 'FROM %s\nCOPY %s /%s\nUSER 65532:65532\nENTRYPOINT ["/%s"]\n' "${STATIC_BASE_IMAGE}" "$1" "$1" "$1" >"${ctx}/Dockerfile"
	build -t "registry.k8s.io/sig-storage/$1:${version}" "${ctx}"
	rm -rf "${ctx}"
	echo "registry.k8s.io/sig-storage/$1:${version}"
}
sidecar csi-provisioner github.com/kubernetes-csi/external-provisioner/v6
sidecar csi-attacher github.com/kubernetes-csi/external-attacher/v4
sidecar csi-resizer github.com/kubernetes-csi/external-resizer/v2
sidecar csi-snapshotter github.com/kubernetes-csi/external-snapshotter/v8

# The test workloads' image (test/kind): sh, cat and socat. Debian's public slim image lacks socat.
test_image=vsphere-cloud/kind-test:dev
if docker run --rm --entrypoint sh "${DEBIAN_BASE_IMAGE}" -c 'command -v socat' >/dev/null 2>&1; then
	docker tag "${DEBIAN_BASE_IMAGE}" "${test_image}"
else
	printf 'FROM %s\nRUN apt-get update && apt-get install -y --no-install-recommends socat && rm -rf /var/lib/apt/lists/*\n' "${DEBIAN_BASE_IMAGE}" |
		build -t "${test_image}" -
fi
echo "${test_image}"

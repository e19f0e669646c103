# Images for cloud-controller, vsphere-node (with vsphere-csi-node) and the simulator.
#   docker build --target cloud-controller -t ghcr.io/vsphere-cloud/cloud-controller:v0.1.0 .
#   docker build --target vsphere-node     -t ghcr.io/vsphere-cloud/vsphere-node:v0.1.0 .
#   docker build --target vcsim            -t ghcr.io/vsphere-cloud/vcsim:v0.1.0 .
# Every base is a build argument defaulting to the public image, so that a site without a
# registry passes its own (hack/kind/build.sh makes them from Debian's packages):
#   STATIC_BASE  a static, non-root base (distroless), for the Go-only programs
#   DEBIAN_BASE  Debian with mount, blkid and the ext4/XFS tools, for the node programs
#   GO_IMAGE     the Go toolchain that compiles the programs
# BINARIES=prebuilt copies the programs from _output/images/bin in the build context (built
# on the host with CGO_ENABLED=0, as hack/kind/images.sh does) instead of compiling them here.
ARG GO_IMAGE=golang:1.26
ARG STATIC_BASE=gcr.io/distroless/static-debian12:nonroot
ARG DEBIAN_BASE=debian:bookworm-slim
ARG BINARIES=source

FROM ${GO_IMAGE} AS binaries-source
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/
COPY hack/vcsim/ hack/vcsim/
ARG TARGETOS=linux TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/cloud-controller ./cmd/vsphere-node ./cmd/vsphere-csi-node ./hack/vcsim

FROM scratch AS binaries-prebuilt
COPY _output/images/bin/ /out/

FROM binaries-${BINARIES} AS binaries

# Static, distroless, non-root: the controller needs nothing but its binary.
FROM ${STATIC_BASE} AS cloud-controller
COPY --from=binaries /out/cloud-controller /cloud-controller
USER 65532:65532
ENTRYPOINT ["/cloud-controller"]

# The node agent (/vsphere-node) and the CSI node service (/vsphere-csi-node), with the
# filesystem tools that mounting, formatting and growing use (mount, umount, blkid,
# mkfs.ext4, resize2fs, mkfs.xfs, xfs_growfs, blockdev). Runs as root (DMI UUID, mounts);
# the DaemonSet limits privileges per container. A base that has the tools already is kept.
FROM ${DEBIAN_BASE} AS vsphere-node
RUN command -v mkfs.xfs >/dev/null && command -v mkfs.ext4 >/dev/null && command -v blkid >/dev/null || \
    { apt-get update && apt-get install -y --no-install-recommends mount util-linux e2fsprogs xfsprogs \
      && rm -rf /var/lib/apt/lists/*; }
COPY --from=binaries /out/vsphere-node /out/vsphere-csi-node /
ENTRYPOINT ["/vsphere-node"]

# The vCenter simulator with an inventory file, for kind clusters in users' CI.
FROM ${STATIC_BASE} AS vcsim
COPY --from=binaries /out/vcsim /vcsim
USER 65532:65532
ENTRYPOINT ["/vcsim"]

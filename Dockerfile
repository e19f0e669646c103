# Images for cloud-controller, vsphere-node and the simulator (not built on the development
# machines: they have no container engine; hack/kind-up.sh builds them where one runs).
#   docker build --target cloud-controller -t ghcr.io/vsphere-cloud/cloud-controller:v0.1.0 .
#   docker build --target vsphere-node     -t ghcr.io/vsphere-cloud/vsphere-node:v0.1.0 .
#   docker build --target vcsim            -t ghcr.io/vsphere-cloud/vcsim:v0.1.0 .
FROM golang:1.26 AS build
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

# Static, distroless, non-root: the controller needs nothing but its binary.
FROM gcr.io/distroless/static-debian12:nonroot AS cloud-controller
COPY --from=build /out/cloud-controller /cloud-controller
USER 65532:65532
ENTRYPOINT ["/cloud-controller"]

# The node agent (/vsphere-node) and the CSI node service (/vsphere-csi-node), with the
# filesystem tools that mounting, formatting and growing use (mount, umount, blkid,
# mkfs.ext4, resize2fs, mkfs.xfs, xfs_growfs, blockdev), nothing else. Runs as root (DMI
# UUID, mounts); the DaemonSet limits privileges per container.
FROM debian:bookworm-slim AS vsphere-node
RUN apt-get update && apt-get install -y --no-install-recommends mount util-linux e2fsprogs xfsprogs \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/vsphere-node /out/vsphere-csi-node /
ENTRYPOINT ["/vsphere-node"]

# The vCenter simulator with an inventory file, for kind clusters in users' CI.
FROM gcr.io/distroless/static-debian12:nonroot AS vcsim
COPY --from=build /out/vcsim /vcsim
USER 65532:65532
ENTRYPOINT ["/vcsim"]

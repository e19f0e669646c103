# Images for cloud-controller and vsphere-node (not built on the development machines:
# they have no container engine).
#   docker build --target cloud-controller -t ghcr.io/vsphere-cloud/cloud-controller:v0.1.0 .
#   docker build --target vsphere-node     -t ghcr.io/vsphere-cloud/vsphere-node:v0.1.0 .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY pkg/ pkg/
ARG TARGETOS=linux TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/cloud-controller ./cmd/vsphere-node

# Static, distroless, non-root: the controller needs nothing but its binary.
FROM gcr.io/distroless/static-debian12:nonroot AS cloud-controller
COPY --from=build /out/cloud-controller /cloud-controller
USER 65532:65532
ENTRYPOINT ["/cloud-controller"]

# The node agent reads /sys/class/dmi/id/product_uuid, which only root may read; the
# DaemonSet drops every capability. The filesystem tools for the CSI node service will
# come with it (mkfs.ext4, mkfs.xfs, resize2fs, xfs_growfs), on a Debian base.
FROM gcr.io/distroless/static-debian12 AS vsphere-node
COPY --from=build /out/vsphere-node /vsphere-node
ENTRYPOINT ["/vsphere-node"]

#!/usr/bin/env bash
# Creates a kind cluster running vsphere-cloud against our vCenter simulator, for users' CI
# and for trying it without vSphere. Needs docker (or podman with KIND_EXPERIMENTAL_PROVIDER),
# kind and kubectl. NOT RUN on this project's development machines (no container engine):
# the same flow runs there on local processes (make test).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
name="${KIND_CLUSTER:-vsphere-cloud}"
tag="${TAG:-v0.1.0}"
engine="${CONTAINER_ENGINE:-docker}"

kind create cluster --name "${name}" --config hack/kind/cluster.yaml
for target in cloud-controller vsphere-node vcsim; do
	"${engine}" build --target "${target}" -t "ghcr.io/vsphere-cloud/${target}:${tag}" .
	kind load docker-image --name "${name}" "ghcr.io/vsphere-cloud/${target}:${tag}"
done

kubectl apply -f manifests/namespace.yaml
# The simulator's VMs are the kind nodes: same SystemUUIDs (kind gives each node its own),
# host names and InternalIPs, so cloud-controller initializes them as it would on vSphere.
inventory="$(mktemp)"
{
	echo "datacenters: 1"
	echo "clusters: 1"
	echo "hosts: 3"
	echo "vms:"
	kubectl get nodes -o jsonpath='{range .items[*]}  - name: {.metadata.name}{"\n"}    uuid: {.status.nodeInfo.systemUUID}{"\n"}    hostname: {.metadata.name}{"\n"}    ips: [{.status.addresses[?(@.type=="InternalIP")].address}]{"\n"}{end}'
	echo "tags:"
	echo "  - {category: k8s-zone, name: zone-a, attachTo: [DC0_C0]}"
	echo "  - {category: k8s-region, name: region-1, attachTo: [DC0]}"
} >"${inventory}"
kubectl -n vsphere-cloud-system create configmap vcsim-inventory --from-file=inventory.yaml="${inventory}" \
	--dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f hack/kind/vcsim.yaml
kubectl -n vsphere-cloud-system rollout status deploy/vcsim --timeout=180s

# CoreDNS waits for initialized nodes, so cloud-controller reaches the simulator by its
# Service IP. The simulator's certificate is self-signed: insecureFlag (it logs a warning).
vcsim_ip="$(kubectl -n vsphere-cloud-system get svc vcsim -o jsonpath='{.spec.clusterIP}')"
conf="$(mktemp)"
cat >"${conf}" <<CONF
global:
  port: 443
  insecureFlag: true
  secretName: vsphere-creds
  secretNamespace: vsphere-cloud-system
vcenter:
  sim:
    server: ${vcsim_ip}
labels:
  zone: k8s-zone
  region: k8s-region
CONF
kubectl -n vsphere-cloud-system create secret generic vsphere-creds \
	--from-literal="${vcsim_ip}.username=kind@vsphere.local" --from-literal="${vcsim_ip}.password=kind-password" \
	--dry-run=client -o yaml | kubectl apply -f -
kubectl apply -k manifests/
kubectl -n vsphere-cloud-system create configmap vsphere-cloud-config --from-file=vsphere.conf="${conf}" \
	--dry-run=client -o yaml | kubectl apply -f -
kubectl -n vsphere-cloud-system rollout restart deploy/cloud-controller
kubectl -n vsphere-cloud-system rollout status deploy/cloud-controller --timeout=300s
kubectl wait --for=jsonpath='{.spec.providerID}' nodes --all --timeout=300s 2>/dev/null || true
kubectl get nodes -o custom-columns=NAME:.metadata.name,PROVIDER-ID:.spec.providerID,ZONE:.metadata.labels.topology\\.kubernetes\\.io/zone

#!/usr/bin/env bash
# Creates a three-node kind cluster (one control plane, two workers, real kubelets with
# --cloud-provider=external) running vsphere-cloud against the vCenter simulator, installed as
# users install it. Usage: hack/kind/up.sh [--helm]   (make kind-up; make kind-down removes it)
#   --helm   install with the Helm chart (charts/vsphere-cloud) instead of kubectl apply -k manifests/
# Writes _output/kind/env (KUBECONFIG, KIND_CLUSTER, VCSIM_URL, ...) for test/kind and for you.
# Everything is built here when no registry is reachable (hack/kind/build.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"
install=kustomize
[[ "${1:-}" == --helm ]] && install=helm
name="${KIND_CLUSTER:-vsphere-cloud}"
out="${root}/_output/kind"
mkdir -p "${out}"
start=${SECONDS}
step() { echo "kind-up: [$((SECONDS - start)) s] $*" >&2; }

hack/kind/engine.sh start >&2
step "building (or reusing) kind, kubectl, the node image and the image bases"
eval "$(hack/kind/build.sh)"
export STATIC_BASE_IMAGE DEBIAN_BASE_IMAGE # hack/kind/images.sh builds on them
export KUBECONFIG="${out}/kubeconfig"
k() { "${KUBECTL}" "$@"; }

if "${KIND}" get clusters 2>/dev/null | grep -qx "${name}"; then
	step "deleting the existing cluster ${name}"
	"${KIND}" delete cluster --name "${name}" >&2
fi
step "creating cluster ${name} from ${KIND_NODE_IMAGE}"
"${KIND}" create cluster --name "${name}" --image "${KIND_NODE_IMAGE}" --config hack/kind/cluster.yaml --kubeconfig "${KUBECONFIG}" >&2
mapfile -t nodes < <(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')

step "pod network: a ptp CNI per node for its pod CIDR, routes between nodes"
declare -A ip cidr
for n in "${nodes[@]}"; do
	ip[$n]="$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "${n}")"
	cidr[$n]="$(k get node "${n}" -o jsonpath='{.spec.podCIDR}')"
done
for n in "${nodes[@]}"; do
	docker exec -i "${n}" sh -c 'mkdir -p /etc/cni/net.d && cat >/etc/cni/net.d/10-vsphere-cloud-kind.conflist' <<JSON
{"cniVersion": "0.4.0", "name": "kind-ptp", "plugins": [
  {"type": "ptp", "ipMasq": true, "mtu": 1500,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "${cidr[$n]}"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
JSON
	for o in "${nodes[@]}"; do
		[[ "${o}" == "${n}" ]] || docker exec "${n}" ip route replace "${cidr[$o]}" via "${ip[$o]}"
	done
done

step "building our images and loading them into the nodes"
built="$(hack/kind/images.sh)" # a failure here stops kind-up (a process substitution would hide it)
mapfile -t images <<<"${built}"
docker save "${images[@]}" >"${out}/images.tar"
for n in "${nodes[@]}"; do
	docker exec -i "${n}" ctr --namespace=k8s.io images import --all-platforms --digests - <"${out}/images.tar" >/dev/null &
done
wait
rm -f "${out}/images.tar"

step "the simulator, with the kind nodes as its VMs"
k apply -f manifests/namespace.yaml >&2
{
	echo "datacenters: 1"
	echo "clusters: 1"
	echo "hosts: 3"
	echo "vms:"
	for n in "${nodes[@]}"; do
		echo "  - name: ${n}"
		echo "    uuid: $(k get node "${n}" -o jsonpath='{.status.nodeInfo.systemUUID}')"
		echo "    hostname: ${n}"
		echo "    ips: [${ip[$n]}]"
		echo "    mac: $(docker inspect -f '{{range .NetworkSettings.Networks}}{{.MacAddress}}{{end}}' "${n}")"
	done
	echo "tags:"
	echo "  - {category: k8s-zone, name: zone-a, attachTo: [DC0_C0]}"
	echo "  - {category: k8s-region, name: region-1, attachTo: [DC0]}"
} >"${out}/inventory.yaml"
k -n vsphere-cloud-system create configmap vcsim-inventory --from-file=inventory.yaml="${out}/inventory.yaml" --dry-run=client -o yaml | k apply -f - >&2
k apply -f hack/kind/vcsim.yaml >&2
k -n vsphere-cloud-system rollout status deploy/vcsim --timeout=180s >&2
cp_ip="${ip[${name}-control-plane]}"
vcsim_host="$(k -n vsphere-cloud-system get svc vcsim -o jsonpath='{.spec.clusterIP}')"
for _ in $(seq 1 30); do
	thumbprint="$(timeout 5 openssl s_client -connect "${cp_ip}:31443" </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha1 2>/dev/null | cut -d= -f2)" || true
	[[ -n "${thumbprint}" ]] && break
	sleep 1
done
[[ -n "${thumbprint}" ]] || { echo "kind-up: the simulator does not answer on ${cp_ip}:31443" >&2; exit 1; }

# Its certificate is self-signed: cloud-controller pins it by thumbprint (TLS stays verified).
cat >"${out}/vsphere.conf" <<CONF
global:
  port: 443
  thumbprint: "${thumbprint}"
  secretName: vsphere-creds
  secretNamespace: vsphere-cloud-system
vcenter:
  sim:
    server: ${vcsim_host}
    datacenters: [DC0]
labels:
  zone: k8s-zone
  region: k8s-region
CONF
k -n vsphere-cloud-system create secret generic vsphere-creds \
	--from-literal="${vcsim_host}.username=kind@vsphere.local" --from-literal="${vcsim_host}.password=kind-password" \
	--dry-run=client -o yaml | k apply -f - >/dev/null

step "installing vsphere-cloud (${install})"
if [[ "${install}" == helm ]]; then
	helm="$(source hack/lib/build.sh && cached_build "${tools}/chartcheck" helm "$(mod_version "${tools}/chartcheck" helm.sh/helm/v3)" helm.sh/helm/v3/cmd/helm "-s -w")"
	"${helm}" upgrade --install vsphere-cloud charts/vsphere-cloud --namespace vsphere-cloud-system \
		--set-file cloudConfig="${out}/vsphere.conf" --set vsphereNode.drainOnHostMaintenance=true --wait=false >&2
else
	# manifests/ as users apply it, with the documented drain component on and this
	# cluster's configuration in place of the example (one apply, no restart).
	mkdir -p "${out}/install"
	{
		echo "apiVersion: kustomize.config.k8s.io/v1beta1"
		echo "kind: Kustomization"
		echo "resources: [../../../manifests]"
		echo "components: [../../../manifests/drain]"
		echo "patches: [{path: config.yaml}]"
	} >"${out}/install/kustomization.yaml"
	k -n vsphere-cloud-system create configmap vsphere-cloud-config --from-file=vsphere.conf="${out}/vsphere.conf" \
		--dry-run=client -o yaml >"${out}/install/config.yaml"
	k apply -k "${out}/install" >&2
fi

# LoadBalancer VIPs come from the top /28 of the kind network (which docker leaves free).
subnet="$(docker network inspect kind -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' | grep -m1 '^[0-9.]*/')"
IFS=./ read -r a b c _ prefix <<<"${subnet}"
if ((prefix <= 16)); then vips="${a}.${b}.255.240/28"; else vips="${a}.${b}.${c}.240/28"; fi
k apply -f - >&2 <<YAML
apiVersion: vsphere-cloud.io/v1alpha1
kind: VIPPool
metadata: {name: default}
spec: {addresses: ["${vips}"], network: VM Network, autoAssign: true}
YAML

step "guest disks: attached disks appear in the nodes as loop devices"
"${root}/hack/kind/guestdisks.sh" start "${cp_ip}:31443" "${thumbprint}" >&2

cat >"${out}/env" <<ENV
KUBECONFIG=${KUBECONFIG}
KIND_CLUSTER=${name}
KIND_INSTALL=${install}
KIND=${KIND}
KUBECTL=${KUBECTL}
VCSIM_URL=https://${cp_ip}:31443/sdk
VCSIM_THUMBPRINT=${thumbprint}
VCSIM_USERNAME=kind@vsphere.local
VCSIM_PASSWORD=kind-password
KIND_VIPS=${vips}
KIND_TEST_IMAGE=vsphere-cloud/kind-test:dev
ENV
step "waiting for cloud-controller to initialize the nodes"
k -n vsphere-cloud-system rollout status deploy/cloud-controller --timeout=300s >&2
k -n vsphere-cloud-system rollout status ds/vsphere-node --timeout=300s >&2
for n in "${nodes[@]}"; do
	k wait --for=jsonpath='{.spec.providerID}' "node/${n}" --timeout=300s >/dev/null
done
k get nodes -o custom-columns='NAME:.metadata.name,PROVIDER-ID:.spec.providerID,ZONE:.metadata.labels.topology\.kubernetes\.io/zone' >&2
step "ready: export KUBECONFIG=${KUBECONFIG}  (settings in ${out}/env)"

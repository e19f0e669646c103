#!/usr/bin/env bash
# Removes the kind cluster hack/kind/up.sh made, stops guestdisks (releasing its loop devices)
# and, if hack/kind/engine.sh started dockerd, stops it (KEEP_ENGINE=1 keeps it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
"${root}/hack/kind/guestdisks.sh" stop
if docker info >/dev/null 2>&1; then
	kind="$(ls "${VSPHERE_CLOUD_CACHE:-${HOME}/.cache/vsphere-cloud}"/bin/kind-*/kind 2>/dev/null | head -1)"
	if [[ -n "${kind}" ]]; then
		"${kind}" delete cluster --name "${KIND_CLUSTER:-vsphere-cloud}" || true
	fi
fi
[[ "${KEEP_ENGINE:-}" == 1 ]] || "${root}/hack/kind/engine.sh" stop

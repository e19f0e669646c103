#!/usr/bin/env bash
# The kind suite (make test-kind): brings the kind cluster up installed with kubectl apply -k,
# runs test/kind on it, then again installed with the Helm chart. Starts dockerd when no
# engine runs and stops what it started. Logs in _output/kind/test-<install>.log.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${root}"
out="${root}/_output/kind"
mkdir -p "${out}"
had_engine=0
docker info >/dev/null 2>&1 && had_engine=1
cleanup() {
	KEEP_ENGINE=1 hack/kind/down.sh >/dev/null 2>&1 || true
	((had_engine)) || hack/kind/engine.sh stop
}
trap cleanup EXIT
hack/kind/engine.sh start
for install in kustomize helm; do
	start=${SECONDS}
	flag=""
	[[ "${install}" == helm ]] && flag=--helm
	if ! hack/kind/up.sh ${flag} >"${out}/up-${install}.log" 2>&1; then
		tail -30 "${out}/up-${install}.log" >&2
		echo "test-kind: kind-up (${install}) failed; log ${out}/up-${install}.log" >&2
		exit 1
	fi
	grep -E '^kind-up:|^kind-build: built|^built ' "${out}/up-${install}.log" || true
	echo "test-kind: cluster (${install}) up in $((SECONDS - start)) s"
	if ! VSPHERE_CLOUD_KIND_REQUIRED=1 go test -count=1 -timeout 30m -v ./test/kind/ 2>&1 | tee "${out}/test-${install}.log" |
		{ grep -E '^(BENCH|=== RUN|--- |\s+--- |\s+\S+_test.go:|PASS|FAIL|ok)' || true; }; then
		echo "test-kind: test/kind failed on the ${install} install; log ${out}/test-${install}.log" >&2
		exit 1
	fi
	KEEP_ENGINE=1 hack/kind/down.sh >/dev/null
done

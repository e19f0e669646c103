#!/usr/bin/env bash
# Starts or stops hack/kind/guestdisks on the host for the kind world.
#   hack/kind/guestdisks.sh start <simulator host:port> <thumbprint>    hack/kind/guestdisks.sh stop
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${root}/_output/kind/guestdisks"
mkdir -p "${dir}"
stop() {
	if [[ -f "${dir}/pid" ]]; then
		kill "$(cat "${dir}/pid")" 2>/dev/null || true
		for _ in $(seq 1 20); do kill -0 "$(cat "${dir}/pid")" 2>/dev/null || break; sleep 0.5; done
		rm -f "${dir}/pid"
	fi
}
case "${1:-}" in
start)
	stop
	go build -o "${dir}/guestdisks" "${root}/hack/kind/guestdisks"
	# The simulator's certificate is self-signed: verified by its thumbprint.
	GUESTDISKS_PASSWORD=kind-password setsid "${dir}/guestdisks" --vcenter "https://$2/sdk" --username kind@vsphere.local \
		--thumbprint "$3" --state-dir "${dir}" >"${dir}/log" 2>&1 </dev/null &
	echo $! >"${dir}/pid"
	echo "guestdisks: running (log ${dir}/log)"
	;;
stop) stop ;;
*) echo "usage: $0 start host:port | stop" >&2; exit 2 ;;
esac

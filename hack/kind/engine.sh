#!/usr/bin/env bash
# Starts or stops a Docker engine for the kind world when none is running.
#   hack/kind/engine.sh start   uses a running engine as it is; otherwise starts Debian's dockerd
#                               (installed by hack/install-deps.sh) and records that it did.
#   hack/kind/engine.sh stop    stops the engine only if `start` started it.
# Where the capability bounding set lacks CAP_SYS_RESOURCE (some sandboxes), privileged
# containers cannot start under plain runc: dockerd then runs them with hack/kind/runc-nosysres
# as its default runtime. dockerd sets the iptables FORWARD policy to DROP; the project's
# network-namespace tests keep their bridges in namespaces of their own, out of its reach.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
state="${VSPHERE_CLOUD_CACHE:-${HOME}/.cache/vsphere-cloud}/engine"
mkdir -p "${state}"
pidfile="${state}/dockerd.pid"

lacks_sys_resource() {
	local bnd
	bnd="$(awk '/^CapBnd:/ {print $2}' /proc/self/status)"
	(((0x${bnd} >> 24) & 1)) && return 1 || return 0 # CAP_SYS_RESOURCE is capability 24
}

case "${1:-}" in
start)
	if docker info >/dev/null 2>&1; then
		echo "engine: using the running Docker engine"
		exit 0
	fi
	command -v dockerd >/dev/null || { echo "engine: dockerd is not installed (run hack/install-deps.sh kind)" >&2; exit 1; }
	args=(--host=unix:///var/run/docker.sock)
	if lacks_sys_resource; then
		install -m 0755 hack/kind/runc-nosysres "${state}/runc-nosysres"
		args+=(--add-runtime "nosysres=${state}/runc-nosysres" --default-runtime nosysres)
		echo "engine: this host's bounding set lacks CAP_SYS_RESOURCE: containers run with hack/kind/runc-nosysres"
	fi
	setsid dockerd "${args[@]}" >"${state}/dockerd.log" 2>&1 </dev/null &
	echo $! >"${pidfile}"
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && { echo "engine: dockerd started (log ${state}/dockerd.log)"; exit 0; }
		sleep 1
	done
	echo "engine: dockerd did not answer within 60 s; its log:" >&2
	tail -20 "${state}/dockerd.log" >&2
	exit 1
	;;
stop)
	[[ -f "${pidfile}" ]] || exit 0
	pid="$(cat "${pidfile}")"
	if kill "${pid}" 2>/dev/null; then
		for _ in $(seq 1 30); do kill -0 "${pid}" 2>/dev/null || break; sleep 1; done
		echo "engine: stopped the dockerd it started"
	fi
	rm -f "${pidfile}"
	;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac

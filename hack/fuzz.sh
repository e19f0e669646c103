#!/usr/bin/env bash
# Runs every native Go fuzz target for FUZZTIME each (default 5s): `make test` runs the
# short form, `make fuzz FUZZTIME=10m` the long one. Minimizing a new interesting input
# may take 60s by default, which overran the short run's deadline on a fresh fuzz cache
# ("context deadline exceeded"); FUZZMINIMIZETIME caps it (default 1s).
#
# A duration -fuzztime also races Go's fuzzing coordinator at its end: on a loaded machine a
# worker still busy when the deadline fires makes the target FAIL with a bare "context
# deadline exceeded" and no failing input (golang/go#75804; CI failed so here on
# FuzzHostLabelValue). A real finding always writes an input under testdata/fuzz/. So a run
# that fails with that bare message and wrote no input is replayed on its corpus (the
# deterministic check) and fuzzed once more; any other failure fails at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime="${FUZZTIME:-5s}"
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT

# deadline_flake LOG: the run failed only on the coordinator's deadline.
deadline_flake() {
	grep -q '^    context deadline exceeded$' "$1" &&
		! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}

fuzz_once() { # pkg target
	go test "$1" -run '^$' -fuzz "^$2\$" -fuzztime "${fuzztime}" -fuzzminimizetime "${FUZZMINIMIZETIME:-1s}" 2>&1 | tee "${log}"
}

for pkg in $(go list ./pkg/...); do
	for target in $(go test -list '^Fuzz' "${pkg}" | grep '^Fuzz' || true); do
		echo "fuzz ${pkg} ${target} for ${fuzztime}"
		for try in 1 2; do
			if fuzz_once "${pkg}" "${target}"; then
				break
			fi
			if [[ ${try} == 2 ]] || ! deadline_flake "${log}"; then
				echo "fuzz: ${target} failed" >&2
				exit 1
			fi
			echo "fuzz: ${target} stopped on the fuzzing deadline with no failing input; replaying its corpus, then fuzzing once more"
			go test "${pkg}" -count=1 -run "^${target}\$"
		done
	done
done

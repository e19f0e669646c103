#!/usr/bin/env bash
# Runs every native Go fuzz target for FUZZTIME each (default 5s): `make test` runs the
# short form, `make fuzz FUZZTIME=10m` the long one. Minimizing a new interesting input
# may take 60s by default, which overran the short run's deadline on a fresh fuzz cache
# ("context deadline exceeded"); FUZZMINIMIZETIME caps it (default 1s).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fuzztime="${FUZZTIME:-5s}"
for pkg in $(go list ./pkg/...); do
	for target in $(go test -list '^Fuzz' "${pkg}" | grep '^Fuzz' || true); do
		echo "fuzz ${pkg} ${target} for ${fuzztime}"
		go test "${pkg}" -run '^$' -fuzz "^${target}\$" -fuzztime "${fuzztime}" -fuzzminimizetime "${FUZZMINIMIZETIME:-1s}"
	done
done

#!/usr/bin/env bash
# Runs golangci-lint (pinned in hack/tools/golangci-lint, built once per version into the cache
# outside the repository) with .golangci.yml on the main module. make verify runs it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/build.sh"
dir="${tools}/golangci-lint"
module=github.com/golangci/golangci-lint/v2
version="$(mod_version "${dir}" "${module}")"
lint="$(cached_build "${dir}" golangci-lint "${version}" "${module}/cmd/golangci-lint" "-s -w -X main.version=${version}")"
cd "${root}"
exec "${lint}" run "$@" ./...

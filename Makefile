# vsphere-cloud. `make help` lists the targets.
SHELL := /bin/bash -o pipefail
GO ?= go
BIN := $(CURDIR)/bin
# The control plane's binaries are built once per version into this cache.
export VSPHERE_CLOUD_CACHE ?= $(HOME)/.cache/vsphere-cloud
ARTIFACTS ?= $(CURDIR)/_output
# Every Go build here uses the flags of the images and the cached tools (static, -trimpath), so
# Go compiles each dependency once for vet, the binaries, the end-to-end tests and the kind
# images (each other set of flags is a whole compile of Kubernetes' libraries and govmomi again:
# about 250 s on two cores). The race detector needs cgo: test-unit turns it on.
export CGO_ENABLED ?= 0
export GOFLAGS := $(strip $(GOFLAGS) -trimpath)
CONTROL_PLANE_ENV := $(ARTIFACTS)/control-plane.env
TOOL_MODULES := hack/tools hack/tools/etcd hack/tools/controller-gen hack/tools/golangci-lint hack/tools/chartcheck
CONTROLLER_GEN := $(GO) -C hack/tools/controller-gen tool controller-gen

.PHONY: help build deps kind-deps kind-up kind-up-helm kind-down test-kind test test-faults test-unit test-fuzz fuzz test-e2e verify update bench bench-scale demo control-plane clean

help: ## Show the targets.
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## Build cloud-controller, vsphere-node, vsphere-csi-node and the simulator program into bin/.
	$(GO) build -o $(BIN)/ ./cmd/cloud-controller ./cmd/vsphere-node ./cmd/vsphere-csi-node
	GO=$(GO) hack/vcsim/build.sh $(BIN)

control-plane: ## Build (or reuse) pinned etcd and kube-apiserver in $(VSPHERE_CLOUD_CACHE).
	@mkdir -p $(ARTIFACTS)
	hack/control-plane-bins.sh > $(CONTROL_PLANE_ENV).tmp && mv $(CONTROL_PLANE_ENV).tmp $(CONTROL_PLANE_ENV)
	@cat $(CONTROL_PLANE_ENV)

test: verify test-unit test-fuzz test-e2e test-kind ## Everything CI runs, the kind suite last (it starts and stops dockerd when none runs).

test-unit: ## Unit and simulator tests, with the race detector.
	CGO_ENABLED=1 $(GO) test -race -count=1 ./pkg/... ./cmd/... ./hack/vcsim/... ./manifests/... ./test/repo/...
	cd hack/tools/chartcheck && $(GO) test -count=1 ./...

test-fuzz: ## Every fuzz target for a few seconds.
	FUZZTIME=5s hack/fuzz.sh

fuzz: ## Every fuzz target for FUZZTIME (default 10m) each.
	FUZZTIME=$${FUZZTIME:-10m} hack/fuzz.sh

deps: ## Host tools the volume tests use (xfsprogs), installed with apt-get when missing.
	hack/install-deps.sh

test-e2e: build control-plane deps ## End-to-end tests on etcd, kube-apiserver and the simulator.
	set -a && source $(CONTROL_PLANE_ENV) && set +a && \
	VSPHERE_CLOUD_E2E_REQUIRED=1 E2E_ARTIFACTS=$(ARTIFACTS)/e2e $(GO) test -count=1 -timeout 40m -v ./test/e2e/ 2>&1 | tee $(ARTIFACTS)/e2e.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|BENCH|\s+\S+_test.go)' \
	|| { hack/e2e-failures.sh $(ARTIFACTS)/e2e.log; exit 1; }

kind-deps: ## What the kind world needs on the host (docker.io, debootstrap, jq, zstd, openssl), installed with apt-get when missing.
	hack/install-deps.sh kind

kind-up: kind-deps ## A three-node kind cluster with real kubelets, vsphere-cloud installed with kubectl apply -k manifests/, the simulator inside.
	hack/kind/up.sh

kind-up-helm: kind-deps ## The same, installed with the Helm chart.
	hack/kind/up.sh --helm

kind-down: ## Remove the kind cluster (and stop dockerd if kind-up started it).
	hack/kind/down.sh

test-kind: kind-deps ## The kind suite (test/kind) on clusters installed both ways; starts and stops dockerd if none runs.
	hack/kind/test.sh

test-faults: build control-plane deps ## Full fault matrix (writes docs/reliability.md) and crash churn (200 claims, 100 kills).
	set -a && source $(CONTROL_PLANE_ENV) && set +a && \
	VSPHERE_CLOUD_FAULTS=full CHURN_CLAIMS=200 CHURN_KILLS=100 VSPHERE_CLOUD_E2E_REQUIRED=1 E2E_ARTIFACTS=$(ARTIFACTS)/faults \
	$(GO) test -count=1 -timeout 80m -v -run 'TestFaultMatrix|TestCrashConsistency' ./test/e2e/ 2>&1 | tee $(ARTIFACTS)/faults.log | grep -E '^(=== RUN|--- |\s+--- |PASS|FAIL|ok)'

bench: build control-plane ## Benchmarks: prints BENCH <name> <value> <unit> lines.
	set -a && source $(CONTROL_PLANE_ENV) && set +a && \
	VSPHERE_CLOUD_BENCH=1 VSPHERE_CLOUD_E2E_REQUIRED=1 E2E_ARTIFACTS=$(ARTIFACTS)/bench $(GO) test -count=1 -timeout 60m -v -run 'TestBench|TestVolumeFailover|TestControlPlaneEndpoint' ./test/e2e/ 2>&1 | tee $(ARTIFACTS)/bench.log | grep -E '^(BENCH|--- |FAIL|ok)'

bench-scale: build control-plane ## The scale run (not in CI): 10,000 Nodes among 50,000 VMs in two datacenters; BENCH node_init_10k_seconds and more.
	set -a && source $(CONTROL_PLANE_ENV) && set +a && \
	BENCH_NODES=10000 BENCH_VMS=50000 BENCH_DATACENTERS=2 \
	VSPHERE_CLOUD_BENCH=1 VSPHERE_CLOUD_E2E_REQUIRED=1 E2E_ARTIFACTS=$(ARTIFACTS)/bench-scale $(GO) test -count=1 -timeout 90m -v -run 'TestBenchNodeInitialization$$' ./test/e2e/ 2>&1 | tee $(ARTIFACTS)/bench-scale.log | grep -E '^(BENCH|--- |FAIL|ok)|registered in|read the inventory'

demo: build ## Local control plane + simulator + cloud-controller, a few Nodes, their providerIDs and zones.
	@mkdir -p $(ARTIFACTS)
	CONTROL_PLANE_MINIMAL=1 hack/control-plane-bins.sh > $(ARTIFACTS)/demo.env
	set -a && source $(ARTIFACTS)/demo.env && set +a && $(GO) run ./hack/demo --dir $(ARTIFACTS)/demo

update: ## Regenerate deepcopy code and CRD manifests from api/, and the Helm chart from manifests/.
	$(CONTROLLER_GEN) object paths=$(CURDIR)/api/...
	$(CONTROLLER_GEN) crd paths=$(CURDIR)/api/... output:crd:dir=$(CURDIR)/manifests/crds
	$(GO) run ./hack/gen-chart manifests charts/vsphere-cloud

verify: update ## gofmt, go vet, generated files, go.mod tidiness of every module, golangci-lint (.golangci.yml).
	@git diff --exit-code -- api manifests/crds charts || { echo "generated files are stale: run make update"; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard -- api manifests/crds charts)" || { echo "generated files are not in git: run make update and add them"; exit 1; }
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	@for m in $(TOOL_MODULES); do (cd $$m && $(GO) mod tidy -diff) || exit 1; done
	hack/lint.sh
	@echo "verify: ok"

clean: ## Remove build output (not the control-plane cache).
	rm -rf $(BIN) $(ARTIFACTS)

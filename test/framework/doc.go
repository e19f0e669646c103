// Package framework starts the real parts the end-to-end tests and benchmarks run
// against, as local processes on 127.0.0.1: etcd and kube-apiserver (built from source
// by hack/control-plane-bins.sh), the vCenter simulator (hack/vcsim) and our binaries.
// It does not fake any of them.
package framework

// Package strict makes govmomi's vCenter simulator behave like vCenter where the
// simulator is more lenient, for hack/vcsim and for tests that run the simulator in
// process. Each behaviour names its evidence; docs/vcenter-behaviour.md lists them.
//
// It does not change what the simulator answers beyond the behaviours it installs, and it
// is never part of a production binary.
package strict

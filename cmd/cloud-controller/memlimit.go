package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
)

// memoryLimitEnv carries the container's memory limit in bytes; the manifests set it from
// resources.limits.memory (resourceFieldRef), so the Go memory limit follows the limit an
// operator sets.
const memoryLimitEnv = "VSPHERE_CLOUD_MEMORY_LIMIT"

// goMemoryShare is the part of the container's limit the Go runtime may use before its
// garbage collector works harder: the rest is the binary's mapped pages and headroom.
// Measured at 10,000 Nodes among 50,000 VMs (make bench-scale): see README "Sizing".
const goMemoryShare = 0.8

// goMemoryLimit is the Go memory limit to set, from the environment: 0 when GOMEMLIMIT is
// set (the runtime already applied the operator's choice) or memoryLimitEnv is unset.
func goMemoryLimit(getenv func(string) string) (int64, error) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	v := getenv(memoryLimitEnv)
	if v == "" {
		return 0, nil
	}
	limit, err := strconv.ParseInt(v, 10, 64)
	if err != nil || limit <= 0 {
		return 0, fmt.Errorf("%s=%q: want the container's memory limit in bytes (resourceFieldRef limits.memory)", memoryLimitEnv, v)
	}
	return int64(float64(limit) * goMemoryShare), nil
}

// applyMemoryLimit sets the Go memory limit from the environment; it returns the limit
// set, 0 for none.
func applyMemoryLimit() (int64, error) {
	limit, err := goMemoryLimit(os.Getenv)
	if err != nil || limit == 0 {
		return 0, err
	}
	debug.SetMemoryLimit(limit)
	return limit, nil
}

package main

import (
	"flag"

	"k8s.io/klog/v2"
)

// goFlagSet returns klog's flags (-v, ...) on a fresh flag set.
func goFlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	return fs
}

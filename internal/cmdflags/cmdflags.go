// Package cmdflags parses the command lines of the node programs (vsphere-node,
// vsphere-csi-node): their own options plus component-base's logging flags
// (--logging-format=json, -v), as cloud-controller has them.
package cmdflags

import (
	"fmt"

	"github.com/spf13/pflag"
	logsapi "k8s.io/component-base/logs/api/v1"
	_ "k8s.io/component-base/logs/json/register" // --logging-format=json
)

// Options is a program's options.
type Options interface {
	AddFlags(fs *pflag.FlagSet)
	// Validate checks the options; its errors name the flag.
	Validate() error
}

// Parse parses args into opts and the logging flags, and validates opts. It returns the
// logging configuration for Apply.
func Parse(name string, args []string, opts Options) (*logsapi.LoggingConfiguration, error) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	opts.AddFlags(fs)
	logCfg := logsapi.NewLoggingConfiguration()
	logsapi.AddFlags(logCfg, fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return logCfg, nil
}

// Setup is Parse, then applies the logging configuration to klog.
func Setup(name string, args []string, opts Options) error {
	logCfg, err := Parse(name, args, opts)
	if err != nil {
		return err
	}
	if err := logsapi.ValidateAndApply(logCfg, nil); err != nil {
		return fmt.Errorf("--logging-format: %w", err)
	}
	return nil
}

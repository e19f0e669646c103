package main

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestOptionsValidateNamesTheFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--node-name="}, "--node-name"},
		{[]string{"--node-name=n1", "--dmi-root="}, "--dmi-root"},
		{[]string{"--node-name=n1", "--guest-check-period=10ms"}, "--guest-check-period"},
	} {
		o := &Options{}
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		o.AddFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		err := o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%v: error %v does not name %s", tc.args, err, tc.flag)
		}
	}
	o := &Options{}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"--node-name=n1"}); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil || o.GuestCheckPeriod != time.Minute || o.DrainOnHostMaintenance {
		t.Errorf("defaults: %+v, %v", o, err)
	}
}

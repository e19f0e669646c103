package main

import (
	"github.com/vmware/govmomi/simulator"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
)

// defaultSSOLockout is vCenter's default lockout policy, as the -sso-lockout flag reads it.
var defaultSSOLockout = strict.DefaultLockoutPolicy.String()

// lockOutAccounts makes the simulator lock an account after repeated failed logins, as
// vCenter Single Sign-On does (see strict.Lockout); policy is the -sso-lockout flag.
func lockOutAccounts(m *simulator.Model, policy string) error {
	p, err := strict.ParseLockoutPolicy(policy)
	if err != nil {
		return err
	}
	strict.InstallLockout(m, simulatorUser, p, nil)
	return nil
}

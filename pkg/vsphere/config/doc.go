// Package config reads and validates the cloud configuration file: the upstream vSphere
// cloud provider's YAML vsphere.conf, unchanged, plus vsphere-cloud's own sections.
//
// LoadFile and Load read a file: Parse decodes it (unknown keys become warnings), and
// File.Resolve fills in defaults without I/O and validates everything in one place;
// every error names the field it is about. The package does not read
// credentials (see package vsphere's credential sources) and does not talk to vCenter.
package config

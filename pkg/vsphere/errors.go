package vsphere

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Sentinel errors. Every error this package returns wraps at most one of them; callers
// test with errors.Is.
var (
	// ErrNotFound: vCenter (or a fresh, synced cache of every vCenter) proves that the
	// object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: vCenter could not be reached, timed out, or the cache is not synced
	// or not fresh; the answer is unknown.
	ErrUnavailable = errors.New("vCenter unavailable")
	// ErrUnauthorized: vCenter rejected the credentials, or they could not be read.
	ErrUnauthorized = errors.New("vCenter credentials rejected or missing")
	// ErrPermission: the account lacks a privilege for the operation.
	ErrPermission = errors.New("permission denied by vCenter")
	// ErrNoMatch: no VM in the synced, fresh inventory matches, but nothing proves that
	// none exists (a VM may be hidden from the account, inaccessible, or outside the
	// watched datacenters), or the query cannot match anything (a providerID without a
	// UUID). It is enough to refuse an attach, never a reason to delete a Node or call a
	// disk detached: only ErrNotFound proves absence.
	ErrNoMatch = errors.New("no matching VM in the inventory")
	// ErrAmbiguous: more than one object matches, so no single answer is safe.
	ErrAmbiguous = errors.New("ambiguous")
	// ErrInUse: vCenter refused because another VM uses the disk; the error names it.
	ErrInUse = errors.New("in use by another VM")
	// ErrCertificate: the vCenter certificate is not trusted by the configuration.
	ErrCertificate = errors.New("vCenter certificate not trusted")
)

// classify wraps err with the sentinel it belongs to. It is applied once, where a
// govmomi call returns.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var sentinel error
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrUnavailable), errors.Is(err, ErrUnauthorized),
		errors.Is(err, ErrPermission), errors.Is(err, ErrAmbiguous), errors.Is(err, ErrCertificate), errors.Is(err, ErrInUse):
		return err
	case soap.IsCertificateUntrusted(err):
		sentinel = ErrCertificate
	case fault.Is(err, &types.InvalidLogin{}), fault.Is(err, &types.NotAuthenticated{}):
		sentinel = ErrUnauthorized
	case fault.Is(err, &types.NoPermission{}):
		sentinel = ErrPermission
	case fault.Is(err, &types.ManagedObjectNotFound{}), fault.Is(err, &types.NotFound{}):
		sentinel = ErrNotFound
	default:
		// Timeouts, refused or dropped connections, HTTP errors, server faults: the answer
		// is unknown. Treating everything else as unavailable is the safe default: no
		// caller deletes or detaches on ErrUnavailable.
		sentinel = ErrUnavailable
	}
	return fmt.Errorf("%w: %w", sentinel, redactURL(err))
}

// redactURL removes user information from URLs inside err.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			u.User = nil
			ue.URL = u.String()
		}
	}
	return err
}

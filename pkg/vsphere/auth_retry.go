package vsphere

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// authRetry gives every call a deadline and re-logs in once on NotAuthenticated.
type authRetry struct {
	s *Session
}

// RoundTrip sends through the session's current connection, so that a client handed out
// before a re-login goes on working after it.
func (a *authRetry) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	ctx, cancel := a.s.withDeadline(ctx)
	defer cancel()
	a.s.mu.Lock()
	gen, inner := a.s.gen, a.s.ka
	a.s.mu.Unlock()
	start := time.Now()
	err := inner.RoundTrip(ctx, req, res)
	observeRequest(methodName(req), start, err, err != nil && soap.IsSoapFault(err))
	if err == nil && missingNotAuthenticated(res) {
		err = fmt.Errorf("%w: properties missing for lack of a session", ErrUnauthorized)
	} else if err == nil || !fault.Is(err, &types.NotAuthenticated{}) {
		return err
	}
	if _, isLogout := req.(*methods.LogoutBody); isLogout {
		return err
	}
	klog.FromContext(ctx).Info("vCenter session is no longer valid; logging in again", "vcenter", a.s.vc.Name)
	if lerr := a.s.login(ctx, gen); lerr != nil {
		return lerr
	}
	// The response body may hold the failed attempt's decoded content; start clean.
	if v := reflect.ValueOf(res); v.Kind() == reflect.Pointer && !v.IsNil() {
		v.Elem().Set(reflect.Zero(v.Elem().Type()))
	}
	a.s.mu.Lock()
	inner = a.s.ka
	a.s.mu.Unlock()
	return inner.RoundTrip(ctx, req, res)
}

// missingNotAuthenticated reports whether a property retrieval came back with properties
// missing because the session is gone: vCenter (and vcsim) answer RetrieveProperties
// without a session that way instead of with a fault.
func missingNotAuthenticated(res soap.HasFault) bool {
	var contents []types.ObjectContent
	switch r := res.(type) {
	case *methods.RetrievePropertiesBody:
		if r.Res != nil {
			contents = r.Res.Returnval
		}
	case *methods.RetrievePropertiesExBody:
		if r.Res != nil && r.Res.Returnval != nil {
			contents = r.Res.Returnval.Objects
		}
	}
	for _, oc := range contents {
		for _, m := range oc.MissingSet {
			if _, ok := m.Fault.Fault.(*types.NotAuthenticated); ok {
				return true
			}
		}
	}
	return false
}

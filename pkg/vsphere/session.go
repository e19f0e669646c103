package vsphere

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// keepAliveIdle is how often an otherwise idle session is touched. The inventory
// watch already calls vCenter every maxWait, so this rarely fires.
const keepAliveIdle = 10 * time.Minute

// Session is one logged-in connection to one vCenter. Calls made through Client are
// given a deadline when they have none, and are retried once after a transparent
// re-login when vCenter answers NotAuthenticated (session expired or terminated). No
// lock is held across a network call.
type Session struct {
	vc      config.VCenterConfig
	creds   CredentialSource
	timeout time.Duration

	mu        sync.Mutex
	client    *vim25.Client
	soap      *soap.Client
	ka        *keepalive.HandlerSOAP
	gen       uint64
	inflight  chan struct{} // closed when the current (re)login finishes
	lastErr   error
	logins    int
	connected bool
}

// NewSession returns a Session that connects on first use.
func NewSession(vc config.VCenterConfig, creds CredentialSource, callTimeout time.Duration) *Session {
	return &Session{vc: vc, creds: creds, timeout: callTimeout}
}

// URL is the SDK endpoint of the vCenter, without credentials.
func (s *Session) URL() *url.URL {
	return &url.URL{Scheme: "https", Host: net.JoinHostPort(s.vc.Server, strconv.Itoa(s.vc.Port)), Path: "/sdk"}
}

// Client returns the logged-in client, logging in first if needed.
func (s *Session) Client(ctx context.Context) (*vim25.Client, error) {
	s.mu.Lock()
	c, gen := s.client, s.gen
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	if err := s.login(ctx, gen); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil, fmt.Errorf("%w: vCenter %s: not connected", ErrUnavailable, s.vc.Name)
	}
	return s.client, nil
}

// Logins is how many successful logins this session has made (for tests and metrics).
func (s *Session) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// login connects (first time) or logs in again on the existing connection, unless a
// login newer than gen already happened. Concurrent callers share one login.
func (s *Session) login(ctx context.Context, gen uint64) error {
	s.mu.Lock()
	if s.gen > gen && s.client != nil {
		s.mu.Unlock()
		return nil
	}
	if ch := s.inflight; ch != nil {
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for login to %s: %w", ErrUnavailable, s.vc.Name, ctx.Err())
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.lastErr
	}
	ch := make(chan struct{})
	s.inflight = ch
	sc, ka := s.soap, s.ka
	s.mu.Unlock()

	client, sc, ka, err := s.doLogin(ctx, sc, ka)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = nil
	s.lastErr = err
	loginsTotal.WithLabelValues(s.vc.Name, map[bool]string{true: "ok", false: "error"}[err == nil]).Inc()
	if err == nil {
		s.client, s.soap, s.ka = client, sc, ka
		s.gen++
		s.logins++
	}
	close(ch)
	return err
}

func (s *Session) doLogin(ctx context.Context, sc *soap.Client, ka *keepalive.HandlerSOAP) (*vim25.Client, *soap.Client, *keepalive.HandlerSOAP, error) {
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	log := klog.FromContext(ctx).WithValues("vcenter", s.vc.Name)
	creds, err := s.creds.Credentials(ctx, s.vc)
	if err != nil {
		return nil, nil, nil, err
	}
	if sc == nil {
		// A thumbprint replaces chain verification with an exact fingerprint match, done
		// here so that a mismatch is a typed ErrCertificate, not a string.
		sc = soap.NewClient(s.URL(), s.vc.Insecure || s.vc.Thumbprint != "")
		if s.vc.Thumbprint != "" {
			sc.DefaultTransport().TLSClientConfig.VerifyConnection = verifyThumbprint(s.vc.Thumbprint)
		}
		if s.vc.CAFile != "" {
			if err := sc.SetRootCAs(s.vc.CAFile); err != nil {
				return nil, nil, nil, fmt.Errorf("%w: caFile %s: %w", ErrCertificate, s.vc.CAFile, err)
			}
		}
		ka = keepalive.NewHandlerSOAP(sc, keepAliveIdle, nil)
	}
	base, err := vim25.NewClient(ctx, ka)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("vCenter %s: %w", s.vc.Name, classify(err))
	}
	base.Client = sc
	if err := session.NewManager(base).Login(ctx, url.UserPassword(creds.Username, creds.Password)); err != nil {
		if fault.Is(err, &types.InvalidLogin{}) {
			return nil, nil, nil, fmt.Errorf("%w: vCenter %s rejected the login of user %q", ErrUnauthorized, s.vc.Name, creds.Username)
		}
		return nil, nil, nil, fmt.Errorf("vCenter %s login: %w", s.vc.Name, classify(err))
	}
	client := &vim25.Client{
		Client:         sc,
		ServiceContent: base.ServiceContent,
		RoundTripper:   &authRetry{s: s, inner: ka},
	}
	log.V(2).Info("Logged in to vCenter")
	return client, sc, ka, nil
}

// REST returns a REST (vAPI) client logged in with the same credentials, for tags. The
// caller logs it out when done.
func (s *Session) REST(ctx context.Context) (*rest.Client, error) {
	c, err := s.Client(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := s.creds.Credentials(ctx, s.vc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	rc := rest.NewClient(c)
	if err := rc.Login(ctx, url.UserPassword(creds.Username, creds.Password)); err != nil {
		return nil, fmt.Errorf("vCenter %s REST login: %w", s.vc.Name, classify(err))
	}
	return rc, nil
}

// Close logs out.
func (s *Session) Close(ctx context.Context) {
	s.mu.Lock()
	c := s.client
	s.client = nil
	s.mu.Unlock()
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = session.NewManager(c).Logout(ctx)
}

func (s *Session) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

// authRetry gives every call a deadline and re-logs in once on NotAuthenticated.
type authRetry struct {
	s     *Session
	inner soap.RoundTripper
}

func (a *authRetry) RoundTrip(ctx context.Context, req, res soap.HasFault) error {
	ctx, cancel := a.s.withDeadline(ctx)
	defer cancel()
	a.s.mu.Lock()
	gen := a.s.gen
	a.s.mu.Unlock()
	start := time.Now()
	err := a.inner.RoundTrip(ctx, req, res)
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
	return a.inner.RoundTrip(ctx, req, res)
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

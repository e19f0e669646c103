package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
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
// lock is held across a network call. After vCenter rejects the credentials, logins are
// held back (see loginGate) so that the account is never locked by vCenter Single
// Sign-On: callers get a *LoginBackoffError at once, without a call to vCenter.
type Session struct {
	vc      config.VCenterConfig
	creds   CredentialSource
	timeout time.Duration
	now     func() time.Time

	mu       sync.Mutex
	client   *vim25.Client
	soap     *soap.Client
	ka       *keepalive.HandlerSOAP
	gen      uint64
	inflight chan struct{} // closed when the current (re)login finishes
	lastErr  error
	logins   int
	user     string // the user name of the last successful login
	gate     loginGate
	// loginSlot holds one token while a login attempt is unanswered: attempts are made
	// one at a time, each after the gate has seen the previous one's outcome.
	loginSlot chan struct{}
}

// NewSession returns a Session that connects on first use.
func NewSession(vc config.VCenterConfig, creds CredentialSource, callTimeout time.Duration) *Session {
	return &Session{vc: vc, creds: creds, timeout: callTimeout, now: time.Now, loginSlot: make(chan struct{}, 1)}
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

// User is the user name the session last logged in with.
func (s *Session) User() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
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
	s.mu.Unlock()

	// Every login starts on a new connection with no session cookie. vCenter refuses a
	// Login on a session that is still logged in with InvalidLogin (and posts an
	// AlreadyAuthenticatedSessionEvent), which would read as a rejected password and hold
	// the right credentials back; a NotAuthenticated does not prove that the session
	// is gone on the server.
	client, sc, ka, err := s.doLogin(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = nil
	s.lastErr = err
	loginsTotal.WithLabelValues(s.vc.Name, loginResult(err)).Inc()
	if err == nil {
		if s.ka != nil {
			// The old session is abandoned: no more keep-alives, so vCenter expires it
			// if it still lives. Stop waits for a keep-alive in flight.
			go s.ka.Stop()
		}
		s.client, s.soap, s.ka = client, sc, ka
		s.gen++
		s.logins++
	} else {
		// The old session is gone (that is why we logged in): new callers come back here
		// and get the error at once instead of a call to vCenter that fails.
		s.client = nil
	}
	close(ch)
	return err
}

// admitLogin waits until no other login (SOAP or REST) of this session is unanswered,
// then asks the login gate whether creds may be tried now. If they may, the caller
// makes the attempt and calls the returned function with its outcome.
func (s *Session) admitLogin(ctx context.Context, creds Credentials) (func(loginOutcome), error) {
	select {
	case s.loginSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting for another login to %s: %w", ErrUnavailable, s.vc.Name, ctx.Err())
	}
	h := hashCredentials(creds)
	s.mu.Lock()
	err := s.gate.admit(s.vc.Name, h, s.now())
	s.mu.Unlock()
	if err != nil {
		<-s.loginSlot
		return nil, err
	}
	return func(o loginOutcome) {
		s.mu.Lock()
		s.gate.done(h, creds.Username, o, s.now())
		s.mu.Unlock()
		<-s.loginSlot
	}, nil
}

// loginResult is the result label of the logins metric: ok, held (not attempted while
// logins are held back), unauthorized (credentials rejected or unreadable) or error.
func loginResult(err error) string {
	var held *LoginBackoffError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &held):
		return "held"
	case errors.Is(err, ErrUnauthorized):
		return "unauthorized"
	default:
		return "error"
	}
}

func (s *Session) doLogin(ctx context.Context) (*vim25.Client, *soap.Client, *keepalive.HandlerSOAP, error) {
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	log := klog.FromContext(ctx).WithValues("vcenter", s.vc.Name)
	creds, err := s.creds.Credentials(ctx, s.vc)
	if err != nil {
		return nil, nil, nil, err
	}
	done, err := s.admitLogin(ctx, creds)
	if err != nil {
		return nil, nil, nil, err
	}
	outcome := loginNotAnswered
	defer func() { done(outcome) }()
	// A thumbprint replaces chain verification with an exact fingerprint match, done
	// here so that a mismatch is a typed ErrCertificate, not a string.
	sc := soap.NewClient(s.URL(), s.vc.Insecure || s.vc.Thumbprint != "")
	if s.vc.Thumbprint != "" {
		sc.DefaultTransport().TLSClientConfig.VerifyConnection = verifyThumbprint(s.vc.Thumbprint)
	}
	if s.vc.CAFile != "" {
		if err := sc.SetRootCAs(s.vc.CAFile); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: caFile %s: %w", ErrCertificate, s.vc.CAFile, err)
		}
	}
	ka := keepalive.NewHandlerSOAP(sc, keepAliveIdle, nil)
	base, err := vim25.NewClient(ctx, ka)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("vCenter %s: %w", s.vc.Name, classify(err))
	}
	base.Client = sc
	if err := session.NewManager(base).Login(ctx, url.UserPassword(creds.Username, creds.Password)); err != nil {
		if fault.Is(err, &types.InvalidLogin{}) {
			outcome = loginRejected
			return nil, nil, nil, fmt.Errorf("%w: vCenter %s rejected the login of user %q; fix the credentials Secret "+
				"(<server>.username / <server>.password): the same credentials are tried again in %s at the earliest",
				ErrUnauthorized, s.vc.Name, creds.Username, loginBackoffFirst)
		}
		outcome = loginOutcomeOf(err)
		return nil, nil, nil, fmt.Errorf("vCenter %s login: %w", s.vc.Name, classify(err))
	}
	outcome = loginOK
	s.mu.Lock()
	s.user = creds.Username
	s.mu.Unlock()
	client := &vim25.Client{
		Client:         sc,
		ServiceContent: base.ServiceContent,
		RoundTripper:   &authRetry{s: s},
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
	done, err := s.admitLogin(ctx, creds)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.withDeadline(ctx)
	defer cancel()
	rc := rest.NewClient(c)
	if err := rc.Login(ctx, url.UserPassword(creds.Username, creds.Password)); err != nil {
		if rest.IsStatusError(err, http.StatusUnauthorized) {
			done(loginRejected)
			return nil, fmt.Errorf("%w: vCenter %s rejected the REST login of user %q; fix the credentials Secret "+
				"(<server>.username / <server>.password)", ErrUnauthorized, s.vc.Name, creds.Username)
		}
		done(loginOutcomeOf(err))
		return nil, fmt.Errorf("vCenter %s REST login: %w", s.vc.Name, classify(err))
	}
	done(loginOK)
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

// withDeadline gives ctx the call timeout when it has no deadline of its own.
func (s *Session) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.timeout)
}

package vsphere

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// vCenter Single Sign-On locks an account after 5 failed logins within 180 seconds, for
// 300 seconds by default, and the lock stops every other user of the account too. A
// session therefore never repeats a rejected login at the pace of its callers:
//
//   - After vCenter rejects a user name and password, the same credentials are tried
//     again only after loginBackoffFirst (3 minutes), then after twice as long each time,
//     up to loginBackoffMax. A session thus fails with one password at most once in any 3
//     minutes, and the two replicas of cloud-controller at most twice together.
//   - Credentials that differ from the rejected ones (the Secret was fixed or rotated) are
//     tried at once.
//   - Whatever the credentials, a session makes at most loginFailuresPerWindow failed (or
//     still unanswered) logins in any loginFailureWindow, so that even a Secret changed
//     again and again cannot lock the account.
//
// A login that was sent but never answered (a timeout, a connection cut after the
// request) may have been rejected and counted by vCenter: it counts towards the
// loginFailuresPerWindow, but holds back no credentials. Errors that prove nothing was
// sent (connection refused, no route, no name) and unreadable Secrets do not count, and
// callers retry them at their own pace.
const (
	loginBackoffFirst      = 3 * time.Minute
	loginBackoffMax        = 10 * time.Minute
	loginFailureWindow     = 3 * time.Minute
	loginFailuresPerWindow = 3
)

// credentialsHash identifies credentials without holding them.
type credentialsHash [sha256.Size]byte

func hashCredentials(c Credentials) credentialsHash {
	return sha256.Sum256([]byte(c.Username + "\x00" + c.Password))
}

// loginOutcome is how a login attempt ended.
type loginOutcome int

const (
	// loginOK: vCenter accepted the credentials.
	loginOK loginOutcome = iota
	// loginRejected: vCenter rejected the credentials (InvalidLogin, HTTP 401).
	loginRejected
	// loginNotAnswered: the attempt never reached vCenter (connection refused, no route).
	loginNotAnswered
	// loginUnanswered: the request may have reached vCenter but no answer came (timeout,
	// connection cut): vCenter may have counted a failure.
	loginUnanswered
)

// loginGate decides whether a login may be attempted. It holds no lock of its own: the
// Session calls it under its mutex, never across the network call, and makes one
// attempt at a time, calling done with its outcome before admitting the next.
type loginGate struct {
	// rejected are the times of recent rejections and unanswered logins, oldest first.
	rejected []time.Time
	// consecutive counts rejections since the last successful login.
	consecutive int
	// failedCreds, failedUser and failedAt describe the last rejection; retryAt is when
	// the same credentials may be tried again.
	failedCreds credentialsHash
	failedUser  string
	failedAt    time.Time
	retryAt     time.Time
}

// LoginBackoffError is returned, without contacting vCenter, while logins are held back
// after vCenter rejected the credentials. It wraps ErrUnauthorized.
type LoginBackoffError struct {
	// VCenter is the configured name of the vCenter.
	VCenter string
	// User is the user name vCenter rejected.
	User string
	// RejectedAt is when vCenter last rejected a login.
	RejectedAt time.Time
	// RetryAt is when the next login may be attempted.
	RetryAt time.Time
	// Rejections is how many logins vCenter rejected within the last loginFailureWindow.
	Rejections int
	// AnyCredentials is true when the next login waits for RetryAt even if the
	// credentials change, because the session has used up its loginFailuresPerWindow
	// attempts within loginFailureWindow.
	AnyCredentials bool
}

// Error says when the next attempt is allowed and how to fix the cause. It never shows a
// password.
func (e *LoginBackoffError) Error() string {
	when := e.RetryAt.UTC().Format(time.RFC3339)
	if e.AnyCredentials {
		return fmt.Sprintf("%v: vCenter %s rejected %d logins within %s, the last one of user %q at %s; no login before %s, "+
			"so that vCenter Single Sign-On does not lock the account", ErrUnauthorized, e.VCenter, e.Rejections,
			loginFailureWindow, e.User, e.RejectedAt.UTC().Format(time.RFC3339), when)
	}
	return fmt.Sprintf("%v: vCenter %s rejected the login of user %q at %s; the same credentials are tried again at %s, "+
		"or at once when the credentials Secret changes (fix <server>.username / <server>.password); "+
		"logins are spaced so that vCenter Single Sign-On does not lock the account", ErrUnauthorized, e.VCenter, e.User,
		e.RejectedAt.UTC().Format(time.RFC3339), when)
}

// Unwrap makes errors.Is(err, ErrUnauthorized) true.
func (e *LoginBackoffError) Unwrap() error { return ErrUnauthorized }

// loginOutcomeOf is the outcome of a login that failed with err, other than a rejection:
// unanswered when the request may have reached vCenter (a timeout, a connection cut
// after it was sent), not answered otherwise (refused, unreachable, or an answer that
// is no rejection).
func loginOutcomeOf(err error) loginOutcome {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.As(err, &ne) && ne.Timeout():
		return loginUnanswered
	}
	return loginNotAnswered
}

// admit reports whether a login with credentials h may be attempted at now; if not, the
// error is a *LoginBackoffError.
func (g *loginGate) admit(vcenter string, h credentialsHash, now time.Time) error {
	g.expire(now)
	if g.consecutive > 0 && h == g.failedCreds && now.Before(g.retryAt) {
		return &LoginBackoffError{VCenter: vcenter, User: g.failedUser, RejectedAt: g.failedAt, RetryAt: g.retryAt, Rejections: len(g.rejected)}
	}
	if len(g.rejected) >= loginFailuresPerWindow {
		return &LoginBackoffError{VCenter: vcenter, User: g.failedUser, RejectedAt: g.failedAt,
			RetryAt: g.rejected[0].Add(loginFailureWindow), Rejections: len(g.rejected), AnyCredentials: true}
	}
	return nil
}

// done records the outcome of the attempt that admit let through; now is when it was
// answered, which is no earlier than when vCenter counted it.
func (g *loginGate) done(h credentialsHash, user string, outcome loginOutcome, now time.Time) {
	switch outcome {
	case loginOK:
		g.consecutive = 0
	case loginRejected:
		g.rejected = append(g.rejected, now)
		g.consecutive++
		g.failedCreds, g.failedUser, g.failedAt = h, user, now
		g.retryAt = now.Add(loginBackoff(g.consecutive))
	case loginUnanswered:
		g.rejected = append(g.rejected, now)
	}
}

// expire forgets rejections older than the window.
func (g *loginGate) expire(now time.Time) {
	i := 0
	for i < len(g.rejected) && !g.rejected[i].After(now.Add(-loginFailureWindow)) {
		i++
	}
	g.rejected = g.rejected[i:]
}

// loginBackoff is how long the same credentials wait after n consecutive rejections.
func loginBackoff(n int) time.Duration {
	d := loginBackoffFirst
	for i := 1; i < n && d < loginBackoffMax; i++ {
		d *= 2
	}
	return min(d, loginBackoffMax)
}

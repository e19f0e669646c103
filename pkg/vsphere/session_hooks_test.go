package vsphere

import (
	"errors"
	"time"
)

// The lockout tests reach the Session's internals only through these helpers, so that
// they also compile against the code before the login gate (to show that they fail
// there).

// setSessionClock makes s read time from now.
func setSessionClock(s *Session, now func() time.Time) { s.now = now }

// heldBackUntil reports whether err says that logins are held back, and until when.
func heldBackUntil(err error) (time.Time, bool) {
	var held *LoginBackoffError
	if !errors.As(err, &held) {
		return time.Time{}, false
	}
	return held.RetryAt, true
}

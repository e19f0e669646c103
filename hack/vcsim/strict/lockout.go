package strict

import (
	"fmt"
	"log"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// LockoutPolicy is a vCenter Single Sign-On account lockout policy.
type LockoutPolicy struct {
	// MaxFailures failed logins within FailureInterval lock the account.
	MaxFailures int
	// FailureInterval is the time within which MaxFailures failures lock the account.
	FailureInterval time.Duration
	// UnlockTime is how long the account stays locked; 0 keeps it locked.
	UnlockTime time.Duration
}

// DefaultLockoutPolicy is vCenter's default: 5 failed logins within 180 seconds lock
// the account for 300 seconds.
var DefaultLockoutPolicy = LockoutPolicy{MaxFailures: 5, FailureInterval: 180 * time.Second, UnlockTime: 300 * time.Second}

// String formats p as ParseLockoutPolicy reads it.
func (p LockoutPolicy) String() string {
	if p.MaxFailures <= 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%s/%s", p.MaxFailures, p.FailureInterval, p.UnlockTime)
}

// ParseLockoutPolicy reads "failures/interval/unlock", such as "5/180s/300s", or "off".
func ParseLockoutPolicy(s string) (LockoutPolicy, error) {
	if s == "off" {
		return LockoutPolicy{}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return LockoutPolicy{}, fmt.Errorf("lockout policy %q: want failures/interval/unlock, such as 5/180s/300s, or off", s)
	}
	n, err := strconv.Atoi(parts[0])
	if err != nil || n <= 0 {
		return LockoutPolicy{}, fmt.Errorf("lockout policy %q: failures must be a positive number", s)
	}
	interval, err := time.ParseDuration(parts[1])
	if err != nil || interval <= 0 {
		return LockoutPolicy{}, fmt.Errorf("lockout policy %q: interval must be a positive duration", s)
	}
	unlock, err := time.ParseDuration(parts[2])
	if err != nil || unlock < 0 {
		return LockoutPolicy{}, fmt.Errorf("lockout policy %q: unlock must be a duration, 0 for never", s)
	}
	return LockoutPolicy{MaxFailures: n, FailureInterval: interval, UnlockTime: unlock}, nil
}

// Lockout locks accounts of a simulator the way vCenter Single Sign-On does: after
// Policy.MaxFailures failed logins within Policy.FailureInterval, every login of that
// user fails, with the right password too, until Policy.UnlockTime has passed. The
// simulator accepts any number of failed logins.
//
// It applies to SOAP logins (SessionManager.Login, InvalidLogin fault) and to REST
// logins (POST /rest/com/vmware/cis/session and /api/session, HTTP 401), which both ask
// the simulator's SessionManager.Authenticate, as both go through Single Sign-On on
// vCenter. Attempts while locked are refused without counting; a successful login
// clears the user's failures.
type Lockout struct {
	policy LockoutPolicy
	now    func() time.Time

	mu       sync.Mutex
	accounts map[string]*account
}

type account struct {
	failures    []time.Time // within the failure interval, oldest first
	total       int
	lockedUntil time.Time
	locked      bool
}

// InstallLockout enforces policy on m's logins, where valid is the only user name and
// password the simulator accepts. now is the clock (nil: time.Now). It must be called
// after m.Create. A policy with MaxFailures 0 only counts failures.
func InstallLockout(m *simulator.Model, valid *url.Userinfo, policy LockoutPolicy, now func() time.Time) *Lockout {
	if now == nil {
		now = time.Now
	}
	l := &Lockout{policy: policy, now: now, accounts: map[string]*account{}}
	user := valid.Username()
	pass, _ := valid.Password()
	sm := m.Map().SessionManager()
	// SessionManager.Authenticate asks ValidLogin instead of comparing with the listen
	// URL's user once ValidLogin is set (but never for simulator.DefaultLogin, which
	// accepts any user: serve with a Listen URL that names the user).
	prev := sm.ValidLogin
	sm.ValidLogin = func(req *types.Login) bool {
		ok := req.UserName == user && req.Password == pass
		if prev != nil {
			ok = prev(req)
		}
		return l.attempt(req.UserName, ok)
	}
	return l
}

// attempt records a login of user whose password check gave ok, and reports whether the
// login succeeds.
func (l *Lockout) attempt(user string, ok bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := l.accounts[user]
	if a == nil {
		a = &account{}
		l.accounts[user] = a
	}
	if a.locked {
		if l.policy.UnlockTime == 0 || now.Before(a.lockedUntil) {
			log.Printf("strict: login of %q refused: the account is locked until %s", user, a.lockedUntil.Format(time.RFC3339))
			return false
		}
		a.locked, a.failures = false, nil
	}
	if ok {
		a.failures = nil
		return true
	}
	a.total++
	keep := a.failures[:0]
	for _, t := range a.failures {
		if now.Sub(t) < l.policy.FailureInterval {
			keep = append(keep, t)
		}
	}
	a.failures = append(keep, now)
	log.Printf("strict: login of %q failed (%d within %s)", user, len(a.failures), l.policy.FailureInterval)
	if l.policy.MaxFailures > 0 && len(a.failures) >= l.policy.MaxFailures {
		a.locked, a.lockedUntil = true, now.Add(l.policy.UnlockTime)
		log.Printf("strict: account %q locked until %s", user, a.lockedUntil.Format(time.RFC3339))
	}
	return false
}

// Failures is how many logins of user failed for a wrong password since the lockout was
// installed (attempts refused because the account was locked are not counted).
func (l *Lockout) Failures(user string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.accounts[user]; a != nil {
		return a.total
	}
	return 0
}

// Locked reports whether user's account is locked now.
func (l *Lockout) Locked(user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.accounts[user]
	return a != nil && a.locked && (l.policy.UnlockTime == 0 || l.now().Before(a.lockedUntil))
}

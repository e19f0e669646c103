package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestLoginBackoffSchedule(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 3 * time.Minute, 2: 6 * time.Minute, 3: 10 * time.Minute, 9: 10 * time.Minute} {
		if got := loginBackoff(n); got != want {
			t.Errorf("loginBackoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestLoginGate drives the gate through sequences of attempts and checks, at every step,
// that it never lets through more than loginFailuresPerWindow rejections in any
// loginFailureWindow.
func TestLoginGate(t *testing.T) {
	bad := hashCredentials(Credentials{Username: "u", Password: "bad"})
	type step struct {
		at      time.Duration // since the start
		creds   credentialsHash
		outcome loginOutcome
		admit   bool
		anyCred bool // a refusal holds any credentials back
	}
	creds := func(p string) credentialsHash { return hashCredentials(Credentials{Username: "u", Password: p}) }
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"the same rejected credentials wait for the back-off, doubling", []step{
			{at: 0, creds: bad, outcome: loginRejected, admit: true},
			{at: time.Second, creds: bad, admit: false},
			{at: 3*time.Minute - time.Millisecond, creds: bad, admit: false},
			{at: 3 * time.Minute, creds: bad, outcome: loginRejected, admit: true},
			{at: 9*time.Minute - time.Millisecond, creds: bad, admit: false},
			{at: 9 * time.Minute, creds: bad, outcome: loginRejected, admit: true},
			{at: 19 * time.Minute, creds: bad, outcome: loginOK, admit: true},
			{at: 19*time.Minute + time.Second, creds: bad, outcome: loginRejected, admit: true},
			{at: 20 * time.Minute, creds: bad, admit: false},
		}},
		{"changed credentials are tried at once, up to 3 rejections in 3 minutes", []step{
			{at: 0, creds: bad, outcome: loginRejected, admit: true},
			{at: time.Second, creds: creds("b"), outcome: loginRejected, admit: true},
			{at: 2 * time.Second, creds: creds("c"), outcome: loginRejected, admit: true},
			{at: 3 * time.Second, creds: creds("d"), admit: false, anyCred: true},
			{at: 3*time.Minute - time.Millisecond, creds: creds("right"), admit: false, anyCred: true},
			{at: 3 * time.Minute, creds: creds("right"), outcome: loginOK, admit: true},
		}},
		{"connection errors do not count", []step{
			{at: 0, creds: bad, outcome: loginNotAnswered, admit: true},
			{at: time.Second, creds: bad, outcome: loginNotAnswered, admit: true},
			{at: 2 * time.Second, creds: bad, outcome: loginNotAnswered, admit: true},
			{at: 3 * time.Second, creds: bad, outcome: loginNotAnswered, admit: true},
			{at: 4 * time.Second, creds: bad, outcome: loginRejected, admit: true},
			{at: 5 * time.Second, creds: bad, admit: false},
		}},
		{"logins left unanswered count within the window, but hold back no credentials", []step{
			{at: 0, creds: bad, outcome: loginUnanswered, admit: true},
			{at: time.Second, creds: bad, outcome: loginUnanswered, admit: true},
			{at: 2 * time.Second, creds: bad, outcome: loginRejected, admit: true},
			{at: 3 * time.Second, creds: creds("right"), admit: false, anyCred: true},
			{at: 3 * time.Minute, creds: creds("right"), outcome: loginOK, admit: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var g loginGate
			start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			var rejections []time.Time
			for i, st := range tc.steps {
				now := start.Add(st.at)
				err := g.admit("vc", st.creds, now)
				if (err == nil) != st.admit {
					t.Fatalf("step %d (%s): admit error %v, want admitted %v", i, st.at, err, st.admit)
				}
				if err != nil {
					var held *LoginBackoffError
					if !errors.As(err, &held) || !errors.Is(err, ErrUnauthorized) || held.AnyCredentials != st.anyCred {
						t.Fatalf("step %d: error %#v, want a *LoginBackoffError (any credentials %v) wrapping ErrUnauthorized", i, err, st.anyCred)
					}
					if !held.RetryAt.After(now) {
						t.Errorf("step %d: retry at %s, not after now %s", i, held.RetryAt, now)
					}
					continue
				}
				g.done(st.creds, "u", st.outcome, now)
				if st.outcome == loginRejected || st.outcome == loginUnanswered {
					rejections = append(rejections, now)
				}
				n := 0
				for _, r := range rejections {
					if now.Sub(r) < loginFailureWindow {
						n++
					}
				}
				if n > loginFailuresPerWindow {
					t.Fatalf("step %d: %d rejections within %s", i, n, loginFailureWindow)
				}
			}
		})
	}
}

func TestLoginBackoffErrorShowsNoPassword(t *testing.T) {
	var g loginGate
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	c := Credentials{Username: "svc@vsphere.local", Password: "s3cret-Pa55"}
	h := hashCredentials(c)
	if err := g.admit("vc", h, now); err != nil {
		t.Fatal(err)
	}
	g.done(h, c.Username, loginRejected, now)
	err := g.admit("vc", h, now.Add(time.Second))
	if err == nil {
		t.Fatal("admitted during the back-off")
	}
	for _, leak := range []string{c.Password, string(h[:])} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("error shows a secret: %v", err)
		}
	}
	for _, want := range []string{"2025-01-01T00:03:00Z", "Secret", c.Username} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestLoginOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want loginOutcome
	}{
		{fmt.Errorf("post: %w", context.DeadlineExceeded), loginUnanswered},
		{&url.Error{Op: "Post", URL: "https://vc/sdk", Err: io.EOF}, loginUnanswered},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, loginUnanswered},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, loginNotAnswered},
		{&net.DNSError{Err: "no such host", Name: "vc"}, loginNotAnswered},
		{errors.New("503 Service Unavailable"), loginNotAnswered},
	} {
		if got := loginOutcomeOf(tc.err); got != tc.want {
			t.Errorf("loginOutcomeOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

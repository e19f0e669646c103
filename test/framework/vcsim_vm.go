package framework

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// HideVM hides the VM from the account (hidden) or shows every hidden VM again, through
// hack/vcsim's strict behaviours: vCenter leaves a VM the account may not see out of every
// view and answers NoPermission for it.
func (s *Simulator) HideVM(ctx context.Context, name string, hidden bool) error {
	return s.control(ctx, "/vcsim/vm", url.Values{"name": {name}, "hidden": {strconv.FormatBool(hidden)}})
}

// SetVMInaccessible makes the VM's files inaccessible (connectionState inaccessible, config
// unset), as an all-paths-down datastore does, or accessible again.
func (s *Simulator) SetVMInaccessible(ctx context.Context, name string, on bool) error {
	return s.control(ctx, "/vcsim/vm", url.Values{"name": {name}, "inaccessible": {strconv.FormatBool(on)}})
}

// EnterMaintenance plays vCenter's sequence on the host: an EnterMaintenanceMode task
// starts and EnteringMaintenanceModeEvent is posted, the evacuation takes its time, then
// runtime.inMaintenanceMode is set and EnteredMaintenanceModeEvent posted. It returns the
// task's managed object ID (cancel the task to cancel the enter).
func (s *Simulator) EnterMaintenance(ctx context.Context, host string, evacuation time.Duration) (string, error) {
	return s.controlBody(ctx, "/vcsim/host-maintenance", url.Values{"host": {host}, "on": {"true"}, "events": {"true"}, "evacuation": {evacuation.String()}})
}

// ExitMaintenance clears the host's maintenance mode and posts ExitMaintenanceModeEvent.
func (s *Simulator) ExitMaintenance(ctx context.Context, host string) error {
	return s.control(ctx, "/vcsim/host-maintenance", url.Values{"host": {host}, "on": {"false"}, "events": {"true"}})
}

// SetClockOffset sets how far vCenter's clock (CurrentTime, event and task times) is
// ahead of this machine's (negative: behind).
func (s *Simulator) SetClockOffset(ctx context.Context, d time.Duration) error {
	return s.control(ctx, "/vcsim/clock", url.Values{"offset": {d.String()}})
}

// SetTaskDelay makes tasks named name in their TaskInfo (CnsCreateVolume, ReconfigVm) take d before
// they run, as vCenter's take their time; 0 removes the delay.
func (s *Simulator) SetTaskDelay(ctx context.Context, name string, d time.Duration) error {
	return s.control(ctx, "/vcsim/task-delay", url.Values{"name": {name}, "delay": {d.String()}})
}

// SetDatastoreInaccessible makes a datastore inaccessible (all paths down: First Class Disk
// and CNS calls on it fail) or accessible again.
func (s *Simulator) SetDatastoreInaccessible(ctx context.Context, name string, on bool) error {
	return s.control(ctx, "/vcsim/datastore", url.Values{"name": {name}, "inaccessible": {strconv.FormatBool(on)}})
}

// control POSTs to one of hack/vcsim's control endpoints.
func (s *Simulator) control(ctx context.Context, path string, q url.Values) error {
	_, err := s.controlBody(ctx, path, q)
	return err
}

// controlBody POSTs to one of hack/vcsim's control endpoints and returns the answer's body.
func (s *Simulator) controlBody(ctx context.Context, path string, q url.Values) (string, error) {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	u := url.URL{Scheme: "https", Host: s.URL.Host, Path: path, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return "", err
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode/100 != 2 {
		return "", fmt.Errorf("vcsim %s: %s: %s", path, res.Status, body)
	}
	return string(body), nil
}

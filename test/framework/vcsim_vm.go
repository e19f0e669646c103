package framework

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
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

// control POSTs to one of hack/vcsim's control endpoints.
func (s *Simulator) control(ctx context.Context, path string, q url.Values) error {
	pem, err := os.ReadFile(s.CAFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	u := url.URL{Scheme: "https", Host: s.URL.Host, Path: path, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("vcsim %s: %s", path, res.Status)
	}
	return nil
}

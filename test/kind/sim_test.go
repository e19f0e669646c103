package kind

import (
	"context"
	"crypto/sha1" //nolint:gosec // vCenter thumbprints are SHA-1 fingerprints, compared, not trusted for anything else
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// simControl reaches hack/vcsim's control endpoints (host maintenance) in the cluster,
// through its NodePort, verifying its self-signed certificate by the thumbprint
// hack/kind/up.sh recorded, as cloud-controller does.
type simControl struct {
	base *url.URL
	hc   *http.Client
}

func newSimControl(sdkURL, thumbprint string) (*simControl, error) {
	u, err := url.Parse(sdkURL)
	if err != nil {
		return nil, fmt.Errorf("VCSIM_URL: %w", err)
	}
	want := strings.ToUpper(thumbprint)
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return fmt.Errorf("no certificate")
		}
		sum := sha1.Sum(raw[0]) //nolint:gosec // see the import
		parts := make([]string, len(sum))
		for i, b := range sum {
			parts[i] = fmt.Sprintf("%02X", b)
		}
		if got := strings.Join(parts, ":"); got != want {
			return fmt.Errorf("the simulator's certificate thumbprint is %s, not %s", got, want)
		}
		return nil
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify:    true, //nolint:gosec // verified by thumbprint in VerifyPeerCertificate
		VerifyPeerCertificate: verify,
	}}
	return &simControl{base: &url.URL{Scheme: "https", Host: u.Host}, hc: &http.Client{Transport: tr, Timeout: 20 * time.Second}}, nil
}

// hostMaintenance plays vCenter's maintenance sequence on an ESXi host (with events and an
// evacuation time), or ends it.
func (s *simControl) hostMaintenance(ctx context.Context, host string, on bool, evacuation time.Duration) error {
	q := url.Values{"host": {host}, "on": {fmt.Sprint(on)}, "events": {"true"}}
	if on {
		q.Set("evacuation", evacuation.String())
	}
	u := *s.base
	u.Path, u.RawQuery = "/vcsim/host-maintenance", q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return err
	}
	res, err := s.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 { // 202 Accepted: the maintenance task started
		return fmt.Errorf("host-maintenance %s on=%v: %s: %s", host, on, res.Status, body)
	}
	return nil
}

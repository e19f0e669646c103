package framework

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// CountingProxy sits between a client and the simulator, counts every SOAP method and
// REST call that passes, and injects faults (SetFault). It serves TLS with a certificate of its own CA (CAFile).
type CountingProxy struct {
	// CAFile verifies the proxy's serving certificate.
	CAFile string
	srv    *httptest.Server
	mu     sync.Mutex
	by     map[string]int
	faults faultState
}

// StartCountingProxy forwards to target, verifying it with caFile; its own certificate
// authority and keys go to dir.
func StartCountingProxy(dir string, target *url.URL, caFile string) (*CountingProxy, error) {
	ca, err := newPKI(dir)
	if err != nil {
		return nil, err
	}
	crt, key, err := ca.issue("proxy", "vcenter-proxy", nil, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		return nil, err
	}
	serving, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	upstream := &url.URL{Scheme: target.Scheme, Host: target.Host}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64}
	p := &CountingProxy{CAFile: ca.CAFile, by: map[string]int{}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		method := p.count(r, body)
		if p.inject(w, r, method) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serving}}
	p.srv.StartTLS()
	return p, nil
}

func (p *CountingProxy) count(r *http.Request, body []byte) string {
	key, method := "REST "+r.Method+" "+r.URL.Path, "REST"
	if r.URL.Path == "/sdk" || r.URL.Path == "/vsanHealth" || r.URL.Path == "/pbm" { // SOAP: vim25, CNS, SPBM
		method = soapMethod(body)
		key = "SOAP " + method
	}
	p.mu.Lock()
	p.by[key]++
	p.mu.Unlock()
	return method
}

// soapMethod is the name of the first element inside the SOAP Body.
func soapMethod(body []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(body))
	inBody := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return "unknown"
		}
		if se, ok := tok.(xml.StartElement); ok {
			if inBody {
				return se.Name.Local
			}
			inBody = se.Name.Local == "Body"
		}
	}
}

// HostPort is where clients connect.
func (p *CountingProxy) HostPort() (string, int) {
	host, port, _ := net.SplitHostPort(p.srv.Listener.Addr().String())
	n, _ := strconv.Atoi(port)
	return host, n
}

// Reset zeroes the counters.
func (p *CountingProxy) Reset() {
	p.mu.Lock()
	p.by = map[string]int{}
	p.mu.Unlock()
}

// Total is the number of requests counted since the last Reset.
func (p *CountingProxy) Total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.by {
		n += c
	}
	return n
}

// Count returns the count for one key, such as "SOAP WaitForUpdatesEx".
func (p *CountingProxy) Count(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.by[key]
}

// Summary lists the counts, largest first.
func (p *CountingProxy) Summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, 0, len(p.by))
	for k := range p.by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return p.by[keys[i]] > p.by[keys[j]] })
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(strconv.Itoa(p.by[k]) + " " + k + "\n")
	}
	return b.String()
}

// Close stops the proxy.
func (p *CountingProxy) Close() { p.srv.Close() }

package framework

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// FaultKind is a way the vCenter proxy fails requests.
type FaultKind string

// Faults the proxy injects.
const (
	FaultNone FaultKind = ""
	// FaultRefuse closes the connection at once, with no response.
	FaultRefuse FaultKind = "connection refused"
	// FaultDrop holds the request for Delay, then closes the connection with no response.
	FaultDrop FaultKind = "connection dropped"
	// Fault503 answers HTTP 503 Service Unavailable.
	Fault503 FaultKind = "HTTP 503"
	// FaultSlow forwards after Delay.
	FaultSlow FaultKind = "slow responses"
	// FaultSystemError answers a vim SystemError SOAP fault.
	FaultSystemError FaultKind = "SOAP SystemError"
	// FaultNotAuthenticated answers NotAuthenticated, as after a session is invalidated
	// (the client must log in again); Login itself passes.
	FaultNotAuthenticated FaultKind = "session invalidated"
	// FaultNoPermission answers NoPermission.
	FaultNoPermission FaultKind = "permission denied"
)

// Fault is what the proxy does to matching requests.
type Fault struct {
	Kind FaultKind
	// Methods limits the fault to these SOAP methods; empty: every SOAP and REST request
	// (except Login, Logout and session reads for FaultNotAuthenticated).
	Methods []string
	Delay   time.Duration
}

func (f Fault) String() string {
	s := string(f.Kind)
	if len(f.Methods) > 0 {
		s += fmt.Sprintf(" on %v", f.Methods)
	}
	return s
}

type faultState struct {
	mu       sync.Mutex
	fault    Fault
	injected int
}

// SetFault makes the proxy fail matching requests until the next SetFault.
func (p *CountingProxy) SetFault(f Fault) {
	p.faults.mu.Lock()
	p.faults.fault = f
	p.faults.mu.Unlock()
}

// Injected is how many requests were failed on purpose.
func (p *CountingProxy) Injected() int {
	p.faults.mu.Lock()
	defer p.faults.mu.Unlock()
	return p.faults.injected
}

var sessionMethods = []string{"Login", "Logout", "SessionIsActive", "RetrieveServiceContent", "CurrentTime"}

// inject fails the request if a fault applies; it reports whether it answered.
func (p *CountingProxy) inject(w http.ResponseWriter, r *http.Request, method string) bool {
	p.faults.mu.Lock()
	f := p.faults.fault
	applies := f.Kind != FaultNone && (len(f.Methods) == 0 || slices.Contains(f.Methods, method))
	if applies && f.Kind == FaultNotAuthenticated && slices.Contains(sessionMethods, method) {
		applies = false
	}
	if applies {
		p.faults.injected++
	}
	p.faults.mu.Unlock()
	if !applies {
		return false
	}
	switch f.Kind {
	case FaultSlow:
		time.Sleep(f.Delay)
		return false
	case FaultRefuse, FaultDrop:
		if f.Kind == FaultDrop {
			select {
			case <-time.After(f.Delay):
			case <-r.Context().Done():
			}
		}
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return true
			}
		}
		panic(http.ErrAbortHandler)
	case Fault503:
		http.Error(w, "injected: service unavailable", http.StatusServiceUnavailable)
	case FaultSystemError:
		soapFault(w, `<SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"><reason>injected</reason></SystemErrorFault>`)
	case FaultNotAuthenticated:
		soapFault(w, `<NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated"><object type="Folder">group-d1</object><privilegeId>System.View</privilegeId></NotAuthenticatedFault>`)
	case FaultNoPermission:
		soapFault(w, `<NoPermissionFault xmlns="urn:vim25" xsi:type="NoPermission"><object type="Folder">group-d1</object><privilegeId>System.Read</privilegeId></NoPermissionFault>`)
	}
	return true
}

func soapFault(w http.ResponseWriter, detail string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>injected fault</faultstring><detail>%s</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`, detail)
}

// Disconnect makes vCenter unreachable through the proxy: every request is refused and
// the connections already open (a long poll waiting for updates) are closed, so nothing
// more reaches the client until the next SetFault.
func (p *CountingProxy) Disconnect() {
	p.SetFault(Fault{Kind: FaultRefuse})
	p.srv.CloseClientConnections()
}

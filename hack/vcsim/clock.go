package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
)

// vCenter's clock is its own: event createdTime, CurrentTime and task times are what
// vCenter's clock says, and a filter's beginTime is read on it. vcsim uses the local
// clock. The clock below lets tests put the simulated vCenter ahead or behind: every
// xsd:dateTime in a SOAP response is shifted by the offset and every one in a request
// shifted back, so the simulator stays consistent with itself.

// clock is the simulated vCenter's offset from the local clock.
type clock struct {
	offset atomic.Int64 // time.Duration
}

// xsdDateTime matches an element whose content is an xsd:dateTime.
var xsdDateTime = regexp.MustCompile(`>(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))<`)

func shiftTimes(b []byte, d time.Duration) []byte {
	if d == 0 {
		return b
	}
	return xsdDateTime.ReplaceAllFunc(b, func(m []byte) []byte {
		t, err := time.Parse(time.RFC3339Nano, string(m[1:len(m)-1]))
		if err != nil {
			return m
		}
		return []byte(">" + t.Add(d).UTC().Format(time.RFC3339Nano) + "<")
	})
}

// installClock serves the SOAP endpoint through the clock and /vcsim/clock?offset=D
// (POST sets the offset, e.g. -10m; GET prints it). VCSIM_CLOCK_OFFSET sets the offset
// at start. It must run after the simulator's server is created.
func installClock(m *simulator.Model) *clock {
	c := &clock{}
	if v := os.Getenv("VCSIM_CLOCK_OFFSET"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			c.offset.Store(int64(d))
		}
	}
	svc := m.Service
	// A method pattern is more specific than the simulator's "/sdk", so it takes the
	// POSTs (every SOAP call) without conflicting with it.
	m.Service.Handle("POST "+vim25.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := time.Duration(c.offset.Load())
		if d == 0 {
			svc.ServeSDK(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = shiftTimes(body, -d)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		rec := &bufferedResponse{header: http.Header{}, code: http.StatusOK}
		svc.ServeSDK(rec, r)
		out := shiftTimes(rec.buf.Bytes(), d)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(rec.code)
		_, _ = w.Write(out)
	}))
	m.Service.Handle("/vcsim/clock", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			d, err := time.ParseDuration(r.URL.Query().Get("offset"))
			if err != nil {
				http.Error(w, "offset: want a duration such as -10m", http.StatusBadRequest)
				return
			}
			c.offset.Store(int64(d))
		}
		_, _ = io.WriteString(w, time.Duration(c.offset.Load()).String()+"\n")
	}))
	return c
}

type bufferedResponse struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(code int)        { b.code = code }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.buf.Write(p) }

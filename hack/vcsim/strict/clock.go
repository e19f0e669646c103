package strict

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
)

// Clock is the simulated vCenter's offset from the local clock. vCenter's clock is its
// own: event createdTime, CurrentTime and task times are what vCenter's clock says, and a
// filter's beginTime is read on it; vcsim uses the local clock. With an offset, every
// xsd:dateTime in a SOAP response is shifted by it and every one in a request shifted
// back, so the simulator stays consistent with itself.
type Clock struct {
	offset atomic.Int64 // time.Duration
}

// Offset is the current offset.
func (c *Clock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// SetOffset puts the simulated vCenter d ahead of the local clock (behind when negative).
func (c *Clock) SetOffset(d time.Duration) { c.offset.Store(int64(d)) }

// InstallClock serves the model's SOAP endpoint through a Clock (offset 0 until set). It
// must run after the simulator's server is created.
func InstallClock(m *simulator.Model) *Clock {
	c := &Clock{}
	svc := m.Service
	// A method pattern is more specific than the simulator's "/sdk", so it takes the
	// POSTs (every SOAP call) without conflicting with it.
	m.Service.Handle("POST "+vim25.Path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := c.Offset()
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
	return c
}

// xsdDateTime matches an element whose content is an xsd:dateTime.
var xsdDateTime = regexp.MustCompile(`>(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))<`)

func shiftTimes(b []byte, d time.Duration) []byte {
	return xsdDateTime.ReplaceAllFunc(b, func(m []byte) []byte {
		t, err := time.Parse(time.RFC3339Nano, string(m[1:len(m)-1]))
		if err != nil {
			return m
		}
		return []byte(">" + t.Add(d).UTC().Format(time.RFC3339Nano) + "<")
	})
}

type bufferedResponse struct {
	header http.Header
	code   int
	buf    bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) WriteHeader(code int)        { b.code = code }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.buf.Write(p) }

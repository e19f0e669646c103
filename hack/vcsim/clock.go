package main

import (
	"io"
	"net/http"
	"os"
	"time"

	"github.com/vmware/govmomi/simulator"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
)

// installClock serves the SOAP endpoint through a strict.Clock and /vcsim/clock?offset=D
// (POST sets the offset, e.g. -10m; GET prints it). VCSIM_CLOCK_OFFSET sets the offset
// at start. It must run after the simulator's server is created.
func installClock(m *simulator.Model) *strict.Clock {
	c := strict.InstallClock(m)
	if v := os.Getenv("VCSIM_CLOCK_OFFSET"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			c.SetOffset(d)
		}
	}
	m.Service.Handle("/vcsim/clock", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			d, err := time.ParseDuration(r.URL.Query().Get("offset"))
			if err != nil {
				http.Error(w, "offset: want a duration such as -10m", http.StatusBadRequest)
				return
			}
			c.SetOffset(d)
		}
		_, _ = io.WriteString(w, c.Offset().String()+"\n")
	}))
	return c
}

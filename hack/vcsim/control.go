package main

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// controlHandler serves /vcsim/host-maintenance?host=NAME&on=true|false and installs the
// other control endpoints (the clock, see installClock).
//
// Without events=true it sets the host's runtime.inMaintenanceMode and publishes the
// change to property collectors, at once and without events. (The simulator's own
// EnterMaintenanceMode_Task changes the host without publishing anything; tests use it
// to prove that the periodic resync converges.)
//
// With events=true it plays vCenter's sequence (see sequencer): on=true starts an enter
// task, posts EnteringMaintenanceModeEvent, waits evacuation (a duration, default 2s),
// then sets the flag and posts EnteredMaintenanceModeEvent, unless the task is cancelled
// first (CancelTask on the task whose reference the response body holds); on=false
// clears the flag and posts ExitMaintenanceModeEvent.
func controlHandler(m *simulator.Model) http.HandlerFunc {
	installClock(m)
	seq := &sequencer{m: m}
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		name := q.Get("host")
		on, err := strconv.ParseBool(q.Get("on"))
		if err != nil {
			http.Error(w, "on: want true or false", http.StatusBadRequest)
			return
		}
		events := q.Get("events") == "true"
		evacuation := 2 * time.Second
		if v := q.Get("evacuation"); v != "" {
			if evacuation, err = time.ParseDuration(v); err != nil {
				http.Error(w, "evacuation: want a duration such as 3s", http.StatusBadRequest)
				return
			}
		}
		var host *simulator.HostSystem
		for _, ref := range m.Map().AllReference("HostSystem") {
			if h, ok := ref.(*simulator.HostSystem); ok && h.Name == name {
				host = h
			}
		}
		if host == nil {
			http.Error(w, "host: no host named "+strconv.Quote(name), http.StatusNotFound)
			return
		}
		switch {
		case !events:
			m.Map().AtomicUpdate(m.Service.Context, host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: on}})
			w.WriteHeader(http.StatusNoContent)
		case on:
			task, err := seq.enter(host, evacuation)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, task.Value)
		default:
			if err := seq.exit(host); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

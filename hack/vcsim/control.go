package main

import (
	"net/http"
	"strconv"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// controlHandler serves /vcsim/host-maintenance?host=NAME&on=true|false: it sets the
// host's runtime.inMaintenanceMode and publishes the change to property collectors, as a
// real vCenter does. (The simulator's own EnterMaintenanceMode_Task changes the host
// without publishing anything; tests use it to prove that the periodic resync converges.)
func controlHandler(m *simulator.Model) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("host")
		on, err := strconv.ParseBool(r.URL.Query().Get("on"))
		if err != nil {
			http.Error(w, "on: want true or false", http.StatusBadRequest)
			return
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
		m.Map().AtomicUpdate(m.Service.Context, host, []types.PropertyChange{{Name: "runtime.inMaintenanceMode", Val: on}})
		w.WriteHeader(http.StatusNoContent)
	}
}

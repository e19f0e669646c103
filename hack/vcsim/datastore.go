package main

import (
	"net/http"
	"strconv"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
)

// datastoreHandler serves /vcsim/datastore?name=NAME&inaccessible=true|false: make a
// datastore inaccessible (all paths down: summary.accessible false, First Class Disk and
// CNS calls on it fail) or accessible again.
func datastoreHandler(fcd *strict.FCD) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		on, err := strconv.ParseBool(q.Get("inaccessible"))
		if err != nil {
			http.Error(w, "want name=<datastore>&inaccessible=true|false", http.StatusBadRequest)
			return
		}
		if err := fcd.SetDatastoreInaccessibleByName(q.Get("name"), on); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

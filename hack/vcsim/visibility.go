package main

import (
	"net/http"
	"strconv"

	"github.com/vsphere-cloud/provider/hack/vcsim/strict"
)

// visibilityHandler serves /vcsim/vm?name=NAME&hidden=true|false and
// /vcsim/vm?name=NAME&inaccessible=true|false: hide a VM from the account (vCenter leaves
// it out of views and answers NoPermission for it) or make its files inaccessible
// (connectionState inaccessible, config unset). hidden=false shows every hidden VM again.
func visibilityHandler(v *strict.Visibility) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		name := q.Get("name")
		var err error
		switch {
		case q.Has("hidden"):
			var on bool
			if on, err = strconv.ParseBool(q.Get("hidden")); err == nil {
				if on {
					err = v.Hide(name)
				} else {
					v.Show()
				}
			}
		case q.Has("inaccessible"):
			var on bool
			if on, err = strconv.ParseBool(q.Get("inaccessible")); err == nil {
				err = v.SetInaccessible(name, on)
			}
		default:
			http.Error(w, "want hidden=true|false or inaccessible=true|false", http.StatusBadRequest)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

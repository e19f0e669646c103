package main

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
)

// Task delays make the simulator's tasks take the time vCenter's take (a CNS create, a
// reconfigure), so that tests can act while a task runs: POST
// /vcsim/task-delay?name=CnsCreateVolume&delay=4s, or -task-delay CnsCreateVolume=4s,...
// at start. A delay of 0 removes it.
var delays = struct {
	mu sync.Mutex
	m  map[string]int // task name -> milliseconds
}{m: map[string]int{}}

// setTaskDelay sets one task's delay. The simulator reads the map without a lock, so each
// change installs a new map; entity locks are not held while a task waits (LockHandoff 0),
// or a delayed task would stall every call on its entity.
func setTaskDelay(name string, d time.Duration) {
	delays.mu.Lock()
	defer delays.mu.Unlock()
	if d > 0 {
		delays.m[name] = int(d / time.Millisecond)
	} else {
		delete(delays.m, name)
	}
	m := maps.Clone(delays.m)
	m["LockHandoff"] = 0
	simulator.TaskDelay.MethodDelay = m
}

// parseTaskDelays reads the -task-delay flag: name=duration, comma-separated.
func parseTaskDelays(s string) error {
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		name, v, ok := strings.Cut(kv, "=")
		d, err := time.ParseDuration(v)
		if !ok || name == "" || err != nil {
			return fmt.Errorf("%q: want name=duration, such as CnsCreateVolume=4s", kv)
		}
		setTaskDelay(name, d)
	}
	return nil
}

func taskDelayHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := time.ParseDuration(q.Get("delay"))
	if err != nil || q.Get("name") == "" {
		http.Error(w, "want name=<task name>&delay=<duration>", http.StatusBadRequest)
		return
	}
	setTaskDelay(q.Get("name"), d)
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(strconv.Itoa(int(d/time.Millisecond)) + "ms\n"))
}

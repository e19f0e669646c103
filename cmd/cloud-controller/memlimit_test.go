package main

import (
	"strings"
	"testing"
)

func TestGoMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		name, gomemlimit, limit string
		want                    int64
		err                     string
	}{
		{name: "none", want: 0},
		{name: "from the container limit", limit: "536870912", want: 429496729},
		{name: "GOMEMLIMIT wins", gomemlimit: "300MiB", limit: "536870912", want: 0},
		{name: "not a number", limit: "512Mi", err: "VSPHERE_CLOUD_MEMORY_LIMIT=\"512Mi\""},
		{name: "zero", limit: "0", err: "VSPHERE_CLOUD_MEMORY_LIMIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"GOMEMLIMIT": tc.gomemlimit, memoryLimitEnv: tc.limit}
			got, err := goMemoryLimit(func(k string) string { return env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("goMemoryLimit = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

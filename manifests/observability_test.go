package manifests_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDashboardMetricsExist keeps the Grafana dashboard in step with the code: every
// vsphere_cloud_* metric a panel queries must be defined in pkg/.
func TestDashboardMetricsExist(t *testing.T) {
	b, err := os.ReadFile("observability/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	defined := map[string]bool{}
	def := regexp.MustCompile(`Namespace:\s*"(\w+)",\s*Subsystem:\s*"(\w+)",\s*Name:\s*"(\w+)"`)
	err = filepath.Walk("../pkg", func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		for _, m := range def.FindAllStringSubmatch(string(src), -1) {
			defined[m[1]+"_"+m[2]+"_"+m[3]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(defined) < 8 {
		t.Fatalf("found only %d metric definitions; the scan is broken", len(defined))
	}
	used := regexp.MustCompile(`vsphere_cloud_\w+`)
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range used.FindAllString(tg.Expr, -1) {
				base := name
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					base = strings.TrimSuffix(base, suffix)
				}
				if !defined[base] {
					t.Errorf("panel %q queries %s, which no code defines", p.Title, name)
				}
			}
		}
	}
}

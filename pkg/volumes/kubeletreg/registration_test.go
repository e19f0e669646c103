package kubeletreg

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// kubelet's side of the exchange, over the real socket: GetInfo, then NotifyRegistrationStatus.
func TestKubeletExchange(t *testing.T) {
	dir := t.TempDir()
	r, err := New(Config{Driver: "disk.vsphere-cloud.io", RegistrationDir: dir, KubeletEndpoint: "/var/lib/kubelet/plugins/disk.vsphere-cloud.io/csi.sock"})
	if err != nil {
		t.Fatal(err)
	}
	// A socket left by a killed process is replaced.
	if err := os.WriteFile(r.SocketPath(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()

	conn, err := grpc.NewClient("unix://"+r.SocketPath(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := registerapi.NewRegistrationClient(conn)
	var info *registerapi.PluginInfo
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if info, err = client.GetInfo(ctx, &registerapi.InfoRequest{}); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	if info.Type != registerapi.CSIPlugin || info.Name != "disk.vsphere-cloud.io" ||
		info.Endpoint != "/var/lib/kubelet/plugins/disk.vsphere-cloud.io/csi.sock" || len(info.SupportedVersions) != 1 || info.SupportedVersions[0] != "1.0.0" {
		t.Fatalf("GetInfo answered %+v", info)
	}
	if err := r.Healthy(); err != nil || r.Registered() {
		t.Fatalf("before kubelet's answer: healthy %v, registered %v; want healthy and not registered", err, r.Registered())
	}
	if _, err := client.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: false, Error: "version 1.0.0 not supported"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Healthy(); err == nil || !strings.Contains(err.Error(), "version 1.0.0 not supported") {
		t.Fatalf("after kubelet refused: healthy = %v, want kubelet's error", err)
	}
	if _, err := client.NotifyRegistrationStatus(ctx, &registerapi.RegistrationStatus{PluginRegistered: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.Healthy(); err != nil || !r.Registered() {
		t.Fatalf("after kubelet registered: healthy %v, registered %v", err, r.Registered())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.SocketPath()); !os.IsNotExist(err) {
		t.Fatalf("socket after stop: %v, want removed", err)
	}
	if err := r.Healthy(); err == nil {
		t.Fatal("healthy without a socket")
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{RegistrationDir: "/r", KubeletEndpoint: "/s"}, "driver"},
		{Config{Driver: "d", KubeletEndpoint: "/s"}, "registration dir"},
		{Config{Driver: "d", RegistrationDir: "/r", KubeletEndpoint: "csi.sock"}, "kubelet registration path"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error naming %q", c.cfg, err, c.want)
		}
	}
}

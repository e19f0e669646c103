package framework

import (
	"sync"

	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ControlPlane is a real etcd and kube-apiserver on 127.0.0.1.
type ControlPlane struct {
	Dir        string
	Kubeconfig string
	// ControllerKubeconfig and NodeKubeconfig authenticate as the manifests'
	// ServiceAccounts once InstallManifests ran; empty before.
	ControllerKubeconfig string
	// NodeKubeconfig's token is not bound to a node: the admission policy refuses its
	// writes. Node agents use NodeAgentKubeconfig.
	NodeKubeconfig string
	// nodeKubeconfigs are the node-bound agent kubeconfigs by node name.
	nodeKubeconfigs   map[string]string
	nodeKubeconfigsMu sync.Mutex
	Config            *rest.Config
	Client            kubernetes.Interface
	etcd              *Process
	apiserver         *Process
	pki               *pki
	adminCert         [2]string
	// etcdURL, apiBin and saKeys start more API servers (StartAPIServerIn).
	etcdURL, apiBin string
	saKeys          [2]string
}

// Processes are the control plane's etcd and kube-apiserver, by name.
func (cp *ControlPlane) Processes() map[string]*Process {
	return map[string]*Process{"etcd": cp.etcd, "kube-apiserver": cp.apiserver}
}

// ServingCert issues a serving certificate for 127.0.0.1 from the control plane's CA.
func (cp *ControlPlane) ServingCert(name string) (certFile, keyFile string, err error) {
	return cp.pki.issue(name, name, nil, []net.IP{net.ParseIP("127.0.0.1")})
}

// AdminHTTPClient is an HTTPS client that presents the admin client certificate and
// trusts only the control plane's CA.
func (cp *ControlPlane) AdminHTTPClient() (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(cp.adminCert[0], cp.adminCert[1])
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(cp.pki.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		Certificates: []tls.Certificate{cert}, RootCAs: pool,
	}}}, nil
}

// Binaries finds etcd and kube-apiserver from TEST_ETCD and TEST_KUBE_APISERVER, which
// `make test-e2e` sets from hack/control-plane-bins.sh.
func Binaries() (etcd, apiserver string, err error) {
	etcd, apiserver = os.Getenv("TEST_ETCD"), os.Getenv("TEST_KUBE_APISERVER")
	if etcd == "" || apiserver == "" {
		return "", "", fmt.Errorf("TEST_ETCD and TEST_KUBE_APISERVER are not set: run through `make test-e2e`, or eval \"$(hack/control-plane-bins.sh)\" first")
	}
	return etcd, apiserver, nil
}

// StartControlPlane starts etcd and kube-apiserver with data and logs under dir, and
// returns once the API server is ready.
func StartControlPlane(dir string) (*ControlPlane, error) {
	etcdBin, apiBin, err := Binaries()
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Dir: dir}
	if err := os.RemoveAll(filepath.Join(dir, "etcd-data")); err != nil {
		return nil, err
	}
	clientPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	peerPort, err := FreePort()
	if err != nil {
		return nil, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	cp.etcd, err = Start(dir, "etcd", etcdBin,
		"--data-dir", filepath.Join(dir, "etcd-data"), "--name", "default",
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--log-level", "warn", "--unsafe-no-fsync")
	if err != nil {
		return nil, err
	}
	pkiDir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		return nil, err
	}
	p, err := newPKI(pkiDir)
	if err != nil {
		return nil, err
	}
	serverCrt, serverKey, err := p.issue("apiserver", "kube-apiserver", nil, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		return nil, err
	}
	adminCrt, adminKey, err := p.issue("admin", "admin", []string{"system:masters"}, nil)
	if err != nil {
		return nil, err
	}
	cp.pki, cp.adminCert = p, [2]string{adminCrt, adminKey}
	saPub, saKey, err := p.serviceAccountKey()
	if err != nil {
		return nil, err
	}
	cp.etcdURL, cp.apiBin, cp.saKeys = etcdURL, apiBin, [2]string{saPub, saKey}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	cp.apiserver, err = Start(dir, "kube-apiserver", apiBin,
		"--etcd-servers", etcdURL, "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(port), "--tls-cert-file", serverCrt, "--tls-private-key-file", serverKey,
		"--client-ca-file", p.CAFile, "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", saPub, "--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.96.0.0/16,fd96::/108", "--enable-priority-and-fairness=false",
		"--max-requests-inflight", "2000", "--max-mutating-requests-inflight", "1000",
		"--disable-admission-plugins", "ServiceAccount", "--endpoint-reconciler-type", "none", "--allow-privileged=true", "--v", "1")
	if err != nil {
		cp.Stop()
		return nil, err
	}
	cp.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["local"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:" + strconv.Itoa(port), CertificateAuthority: p.CAFile}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: adminCrt, ClientKey: adminKey}
	kc.Contexts["local"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "admin"}
	kc.CurrentContext = "local"
	if err := clientcmd.WriteToFile(*kc, cp.Kubeconfig); err != nil {
		cp.Stop()
		return nil, err
	}
	cp.Config, err = clientcmd.BuildConfigFromFlags("", cp.Kubeconfig)
	if err != nil {
		cp.Stop()
		return nil, err
	}
	cp.Config.QPS, cp.Config.Burst = 500, 1000
	cp.Client = kubernetes.NewForConfigOrDie(cp.Config)
	ready := WaitFor(90*time.Second, 250*time.Millisecond, func() bool {
		if cp.apiserver.Exited() {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		body, err := cp.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil || string(body) != "ok" {
			return false
		}
		_, err = cp.Client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
		return err == nil
	})
	if !ready || cp.apiserver.Exited() {
		tail := cp.apiserver.Tail(3000)
		cp.Stop()
		return nil, fmt.Errorf("kube-apiserver did not become ready:\n%s", tail)
	}
	return cp, nil
}

// Stop ends kube-apiserver and etcd.
func (cp *ControlPlane) Stop() {
	cp.apiserver.Stop()
	cp.etcd.Stop()
}

package framework

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// StartAPIServerIn starts another kube-apiserver of this control plane (same etcd, same
// CA and ServiceAccount keys) inside network namespace ns, listening on every address of
// the namespace on port 6443: its own ip, 127.0.0.1 and, when it carries it, vip. etcd is
// reached through etcd, a forward from the namespace's segment to etcd's 127.0.0.1 port.
func (cp *ControlPlane) StartAPIServerIn(name, ns, ip, vip, etcd string) (*Process, error) {
	crt, key, err := cp.pki.issue(name, "kube-apiserver", nil, []net.IP{net.ParseIP(ip), net.ParseIP(vip), net.ParseIP("127.0.0.1")})
	if err != nil {
		return nil, err
	}
	return Start(cp.Dir, name, "ip", "netns", "exec", ns, cp.apiBin,
		"--etcd-servers", "http://"+etcd, "--bind-address", "0.0.0.0", "--advertise-address", ip,
		"--secure-port", "6443", "--tls-cert-file", crt, "--tls-private-key-file", key,
		"--client-ca-file", cp.pki.CAFile, "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", cp.saKeys[0], "--service-account-signing-key-file", cp.saKeys[1],
		"--service-cluster-ip-range", "10.96.0.0/16,fd96::/108", "--enable-priority-and-fairness=false",
		"--disable-admission-plugins", "ServiceAccount", "--endpoint-reconciler-type", "none", "--v", "1")
}

// EtcdHostPort is etcd's client address on 127.0.0.1.
func (cp *ControlPlane) EtcdHostPort() string {
	u, _ := url.Parse(cp.etcdURL)
	return u.Host
}

// AdminKubeconfigFor writes a kubeconfig with the admin certificate for server, named
// file under the control plane's directory.
func (cp *ControlPlane) AdminKubeconfigFor(file, server string) (string, error) {
	path := filepath.Join(cp.Dir, file)
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: cp.pki.CAFile}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificate: cp.adminCert[0], ClientKey: cp.adminCert[1]}
	kc.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "admin"}
	kc.CurrentContext = "c"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// HTTPSURL is https://host:port.
func HTTPSURL(host string, port int) string {
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port))
}

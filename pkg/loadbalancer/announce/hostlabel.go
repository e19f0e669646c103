package announce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// HostLabelValue is the ESXi host's name as a label value: the name itself when it is
// a valid label value, otherwise "h-" and the hex SHA-224 of the name (58 characters).
// A host registered in vCenter by IPv6 address ("fd00::10") or by a name longer than 63
// characters gets the hashed form; two names never share a value in practice.
func HostLabelValue(host string) string {
	if len(validation.IsValidLabelValue(host)) == 0 {
		return host
	}
	sum := sha256.Sum224([]byte(host))
	return "h-" + hex.EncodeToString(sum[:])
}

func setHostLabel(l *coordinationv1.Lease, host string) {
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	if host == "" {
		delete(l.Labels, v1alpha1.LabelLeaseESXiHost)
		return
	}
	l.Labels[v1alpha1.LabelLeaseESXiHost] = HostLabelValue(host)
}

func hostOf(nvm *v1alpha1.NodeVM) string {
	if nvm == nil {
		return ""
	}
	return nvm.Status.Host.Name
}

// ledFromHost counts the live VIP Leases held by nodes on host (other than this one).
func (a *Agent) ledFromHost(ctx context.Context, host string) int {
	if host == "" {
		return 0
	}
	var leases coordinationv1.LeaseList
	if err := a.cfg.Client.List(ctx, &leases, client.InNamespace(a.cfg.Namespace), client.MatchingLabels{v1alpha1.LabelLeaseESXiHost: HostLabelValue(host)}); err != nil {
		return 0
	}
	n := 0
	for i := range leases.Items {
		if h := a.holder(&leases.Items[i], a.now()); h != "" && h != a.cfg.NodeName {
			n++
		}
	}
	return n
}

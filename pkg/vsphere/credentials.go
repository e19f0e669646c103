package vsphere

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// Credentials are a vCenter user name and password. They print as redacted.
type Credentials struct {
	Username string
	Password string
}

// String never shows the password.
func (c Credentials) String() string { return "Credentials{" + c.Username + ", <redacted>}" }

// GoString never shows the password.
func (c Credentials) GoString() string { return c.String() }

// CredentialSource returns the current credentials for a vCenter. It is called on every
// login, so a rotated Secret takes effect at the next login without a restart.
type CredentialSource interface {
	Credentials(ctx context.Context, vc config.VCenterConfig) (Credentials, error)
}

// SecretSource reads credentials from the Secret named in the configuration, with the
// upstream provider's keys <server>.username and <server>.password (or plain username and
// password), or from the configured secrets directory.
type SecretSource struct {
	// Client reads Secrets; it may be nil when only secretsDirectory is used.
	Client kubernetes.Interface
}

// Credentials implements CredentialSource. Errors wrap ErrUnauthorized and name the
// Secret or file, never its content.
func (s SecretSource) Credentials(ctx context.Context, vc config.VCenterConfig) (Credentials, error) {
	if vc.SecretName != "" {
		return s.fromSecret(ctx, vc)
	}
	return fromDirectory(vc)
}

func (s SecretSource) fromSecret(ctx context.Context, vc config.VCenterConfig) (Credentials, error) {
	ref := vc.SecretNamespace + "/" + vc.SecretName
	if s.Client == nil {
		return Credentials{}, fmt.Errorf("%w: secret %s: no Kubernetes client", ErrUnauthorized, ref)
	}
	sec, err := s.Client.CoreV1().Secrets(vc.SecretNamespace).Get(ctx, vc.SecretName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Credentials{}, fmt.Errorf("%w: secret %s does not exist", ErrUnauthorized, ref)
	case apierrors.IsForbidden(err):
		return Credentials{}, fmt.Errorf("%w: not allowed to read secret %s (check the RBAC of cloud-controller)", ErrUnauthorized, ref)
	case err != nil:
		return Credentials{}, fmt.Errorf("%w: reading secret %s: %w", ErrUnavailable, ref, err)
	}
	get := func(key string) string {
		if v, ok := sec.Data[vc.Server+"."+key]; ok {
			return strings.TrimSpace(string(v))
		}
		return strings.TrimSpace(string(sec.Data[key]))
	}
	c := Credentials{Username: get("username"), Password: get("password")}
	if c.Username == "" || c.Password == "" {
		return Credentials{}, fmt.Errorf("%w: secret %s has no %s.username and %s.password keys", ErrUnauthorized, ref, vc.Server, vc.Server)
	}
	return c, nil
}

func fromDirectory(vc config.VCenterConfig) (Credentials, error) {
	read := func(key string) (string, error) {
		for _, name := range []string{vc.Server + "." + key, key} {
			b, err := os.ReadFile(filepath.Join(vc.SecretsDirectory, name))
			if err == nil {
				return strings.TrimSpace(string(b)), nil
			}
			if !errors.Is(err, os.ErrNotExist) {
				return "", err
			}
		}
		return "", fmt.Errorf("%s has no file %s.%s", vc.SecretsDirectory, vc.Server, key)
	}
	u, err := read("username")
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	p, err := read("password")
	if err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return Credentials{Username: u, Password: p}, nil
}

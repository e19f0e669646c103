package csicontroller

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// grpcError maps an error from pkg/vsphere to the gRPC code the sidecars act on. Anything
// not proven is Unavailable, which the sidecars retry; nothing is ever treated as done
// because vCenter was slow or down.
func grpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Unavailable
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, vsphere.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, vsphere.ErrPermission), errors.Is(err, vsphere.ErrUnauthorized):
		code = codes.PermissionDenied
	case errors.Is(err, vsphere.ErrDiskUUIDDisabled):
		code = codes.FailedPrecondition
	case errors.Is(err, vsphere.ErrAmbiguous), errors.Is(err, vsphere.ErrInUse):
		code = codes.FailedPrecondition
	}
	return status.Error(code, err.Error())
}

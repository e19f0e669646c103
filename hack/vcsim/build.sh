#!/usr/bin/env bash
# Builds the simulator program (hack/vcsim) into the directory $1, against govmomi with
# hack/vcsim/patches/*.patch applied. The patches change the simulator's speed, never
# what a call answers: each says why in its own comment. The product never links the
# patched copy (it does not import govmomi/simulator; the patched module is used only
# through this build's own -modfile). The patched copy is kept in $VSPHERE_CLOUD_CACHE,
# keyed by the govmomi version and the patches.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: hack/vcsim/build.sh OUTPUT_DIR}
go=${GO:-go}
cache=${VSPHERE_CLOUD_CACHE:-$HOME/.cache/vsphere-cloud}
version=$($go list -m -f '{{.Version}}' github.com/vmware/govmomi)
orig=$($go list -m -f '{{.Dir}}' github.com/vmware/govmomi)
key=$(cat hack/vcsim/patches/*.patch | sha256sum | cut -c1-12)
dir=$cache/src/govmomi-$version-vcsim-$key
if [ ! -f "$dir/.patched" ]; then
	rm -rf "$dir.tmp"
	mkdir -p "$(dirname "$dir")"
	cp -r "$orig" "$dir.tmp"
	chmod -R u+w "$dir.tmp"
	for p in "$PWD"/hack/vcsim/patches/*.patch; do
		(cd "$dir.tmp" && git apply -p1 "$p")
	done
	touch "$dir.tmp/.patched"
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
fi
# The same module graph as go.mod, with govmomi replaced by the patched copy.
mod=$cache/src/vcsim-modfile-$key
mkdir -p "$mod"
cp go.mod "$mod/go.mod"
cp go.sum "$mod/go.sum"
echo "replace github.com/vmware/govmomi => $dir" >>"$mod/go.mod"
exec $go build ${GOBUILDFLAGS:-} -modfile="$mod/go.mod" -o "$out/" ./hack/vcsim

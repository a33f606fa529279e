#!/usr/bin/env bash
# Builds the local control plane (etcd, kube-apiserver, kube-controller-manager, kubectl) and helm
# from the Go modules pinned beside this script, into a cache outside the repository.
#
# The cache folder is keyed by the pinned versions and a digest of the go.sum files, so a rerun
# with nothing changed does nothing, and a version bump builds into a new folder.
# Prints the folder holding the binaries on its last line (stdout); progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${STRONGROOM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strongroom}

module_version() { # module_version DIR MODULE -> the version DIR/go.mod requires
  awk -v m="$2" '$1 == m && $2 ~ /^v/ {print $2; exit} $1 == "require" && $2 == m {print $3; exit}' "$1/go.mod"
}

k8s_version=$(module_version "$here/kubernetes" k8s.io/kubernetes)
etcd_version=$(module_version "$here/etcd" go.etcd.io/etcd/server/v3)
helm_version=$(module_version "$here/helm" helm.sh/helm/v3)
digest=$(cat "$here"/*/go.mod "$here"/*/go.sum | sha256sum | cut -c1-12)
out="$cache_root/bin/k8s-$k8s_version-etcd-$etcd_version-helm-$helm_version-$digest"

say() { printf '[build] %s\n' "$*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed; install Go 1.26 or newer and run this again" >&2
  exit 1
fi

mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

# build NAME DIR PACKAGE [LDFLAGS] [TAGS]: does nothing when NAME is already in the cache.
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=${4:-} tags=${5:-}
  if [ -x "$out/$name" ]; then
    say "$name: cached"
    return
  fi
  say "$name: building $pkg (a first build takes several minutes on 2 cores)..."
  local start=$SECONDS
  (cd "$dir" && go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  say "$name: built in $((SECONDS - start))s"
}

k8s_ldflags() {
  local v=${k8s_version#v} major minor
  major=${v%%.*}
  minor=${v#*.}
  minor=${minor%%.*}
  local date
  date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  local flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  echo "$flags"
}

etcd_ldflags="-X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_version"

started=$SECONDS
build etcd "$here/etcd" go.etcd.io/etcd/server/v3 "$etcd_ldflags"
build kube-apiserver "$here/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver "$(k8s_ldflags)" selinux,notest
build kube-controller-manager "$here/kubernetes" k8s.io/kubernetes/cmd/kube-controller-manager "$(k8s_ldflags)" selinux,notest
build kubectl "$here/kubernetes" k8s.io/kubernetes/cmd/kubectl "$(k8s_ldflags)"
build helm "$here/helm" helm.sh/helm/v3/cmd/helm \
  "-X helm.sh/helm/v3/internal/version.version=$helm_version -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
say "control plane ready in $out ($((SECONDS - started))s)"
echo "$out"

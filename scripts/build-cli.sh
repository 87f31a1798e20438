#!/usr/bin/env bash
# Builds a Terraform or OpenTofu CLI from the sources the Go module proxy serves
# (release binaries cannot be downloaded here), and installs it at OUT.
#
#   scripts/build-cli.sh terraform 1.15.9 bin/terraform-1.15.9
#   scripts/build-cli.sh tofu      1.12.6 bin/tofu-1.12.6
#
# `go install module@version` cannot build either release: both go.mod files
# have replace directives, which `go install` refuses. So the module is copied
# out of the module cache and built as the main module of that copy.
#
# The binary is kept in a per-user cache outside the checkout
# (${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-ssm/cli/, or $SSM_CLI_CACHE):
# a second checkout on the same machine links it instead of building it again.
# Go's module and build caches are shared too, so even without this cache a
# rebuild of the same version downloads and compiles nothing (it still checks
# the cached packages and links: minutes on a busy 2-core machine).
#
# Needs only Go (and the module proxy and checksum database GOPROXY/GOSUMDB name).
set -euo pipefail

usage() {
	echo "usage: $0 terraform|tofu VERSION OUT" >&2
	exit 2
}
[ $# -eq 3 ] || usage
cli=$1
version=${2#v}
out=$3
GO=${GO:-go}

case $cli in
terraform) module=github.com/hashicorp/terraform ;;
tofu) module=github.com/opentofu/opentofu ;;
*) usage ;;
esac

cache=${SSM_CLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-ssm/cli}
cached=$cache/$cli-$version

# Installs the cached binary at OUT: a hard link when both are on one file
# system (no copy of a 160 MB file), a copy otherwise.
install_cached() {
	mkdir -p "$(dirname "$out")"
	rm -f "$out"
	ln "$cached" "$out" 2>/dev/null || cp "$cached" "$out"
	echo "$out: $cli $version (from $cached)"
}

if [ -x "$cached" ]; then
	install_cached
	exit 0
fi

# Every go command below runs in a scratch directory, with GOWORK=off, so that
# neither this repository's go.mod nor a go.work around the checkout is read or
# written: the CLI's own go.mod alone decides its dependencies.
export GOWORK=off
tmp=$(mktemp -d "${TMPDIR:-/tmp}/build-$cli-$version.XXXXXX")
# The module cache is read-only: chmod the copy first so rm can remove it.
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp"

echo "$cli $version: downloading $module@v$version"
# `go mod download` fetches the module's zip (checked against go.sum's source,
# the checksum database) into the module cache and prints where it extracted it.
dir=$($GO mod download -json "$module@v$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -n "$dir" ] && [ -f "$dir/go.mod" ] || {
	echo "$0: go mod download $module@v$version gave no module directory" >&2
	exit 1
}

# The module cache is read-only and must stay pristine: build in a writable copy.
cp -R "$dir" src
chmod -R u+w src
cd src

case $cli in
terraform)
	# Terraform's go.mod replaces its nested modules (internal/legacy and the
	# remote-state backends) by local directories, which are not part of the
	# module's zip. The proxy serves those nested modules at the pseudo-version of
	# the release's commit, v0.0.0-<commit time, UTC, YYYYMMDDHHMMSS>-<first 12
	# hex digits of the commit hash>: both come from the release's own module
	# metadata, so the pseudo-version is computed, never hard-coded.
	meta=$($GO list -m -f '{{.Time.UTC.Format "20060102150405"}} {{if .Origin}}{{.Origin.Hash}}{{end}}' "$module@v$version")
	read -r stamp hash <<<"$meta"
	[ ${#stamp} -eq 14 ] && [ ${#hash} -ge 12 ] || {
		echo "$0: no commit time and hash for $module@v$version (got: $meta)" >&2
		exit 1
	}
	pseudo=v0.0.0-$stamp-${hash:0:12}
	# The replace directives whose target is a local directory (./ or ../), in
	# both the single-line and the block form of go.mod.
	locals=$(awk '
		/^replace[[:space:]]*\($/ { block = 1; next }
		block && /^\)/ { block = 0; next }
		{ line = $0; sub(/^replace[[:space:]]+/, "", line); sub(/^[[:space:]]+/, "", line) }
		(block || /^replace[[:space:]]/) && line ~ /=>[[:space:]]*\.\.?\// { split(line, f, /[[:space:]]+/); print f[1] }
	' go.mod)
	[ -n "$locals" ] || {
		echo "$0: no local replace directive in $module@v$version go.mod: has the layout changed?" >&2
		exit 1
	}
	echo "$cli $version: nested modules at $pseudo:"
	edits=()
	for m in $locals; do
		echo "  $m"
		edits+=("-dropreplace=$m" "-require=$m@$pseudo")
	done
	$GO mod edit "${edits[@]}"
	# Those versions' .info answers 403 on the proxy, so `go mod download` and
	# `go get` of them fail; -mod=mod lets the build fetch just their .mod and
	# .zip and add their go.sum lines, which the checksum database verifies.
	# version.dev=no: without it the binary calls itself <version>-dev.
	echo "$cli $version: building (takes minutes with cold caches)"
	$GO build -mod=mod -ldflags "-X $module/version.dev=no" -o "$tmp/$cli" .
	;;
tofu)
	# OpenTofu's go.mod replaces github.com/hashicorp/hcl/v2 by another module
	# path (github.com/opentofu/hcl/v2), which `go install` refuses; in the copy
	# it is an ordinary main module whose go.mod and go.sum are complete, so the
	# build may not change them (-mod=readonly).
	echo "$cli $version: building (takes minutes with cold caches)"
	$GO build -mod=readonly -ldflags "-X $module/version.dev=no" -o "$tmp/$cli" ./cmd/tofu
	;;
esac

# The binary must call itself exactly the version asked for (no -dev, no other).
# The whole output is read first (`| head -n1` would close the pipe early, and
# under pipefail the CLI's SIGPIPE would fail the script), then its line naming
# the CLI is picked: warnings, such as about the CLI configuration, may precede it.
out_version=$(CHECKPOINT_DISABLE=1 "$tmp/$cli" version 2>&1)
got=$(awk '/^(Terraform|OpenTofu) v/ && !n++' <<<"$out_version")
case $got in
"Terraform v$version" | "OpenTofu v$version") ;;
*)
	echo "$0: built $cli says '$got', want v$version; its output:" >&2
	echo "$out_version" >&2
	exit 1
	;;
esac

# Into the per-user cache first (atomically: a concurrent build of the same
# version by another checkout then wins or loses whole), then linked to OUT.
mkdir -p "$cache"
mv -f "$tmp/$cli" "$cached.tmp.$$"
mv -f "$cached.tmp.$$" "$cached"
install_cached

#!/usr/bin/env bash
# Checks what goreleaser left in dist/ (make release-check) against what the
# Terraform registry needs for a release: one zip per platform holding the
# provider binary (beside the license and docs), the registry manifest, and a
# SHA256SUMS file that lists every zip and the manifest with correct sums.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${DIST:-dist}
name=terraform-provider-ssm

# The platforms .goreleaser.yml builds: {freebsd,windows,linux,darwin} x
# {amd64,386,arm,arm64} without darwin/386, darwin/arm and windows/arm.
platforms=(
  darwin_amd64 darwin_arm64
  freebsd_386 freebsd_amd64 freebsd_arm freebsd_arm64
  linux_386 linux_amd64 linux_arm linux_arm64
  windows_386 windows_amd64 windows_arm64
)

fail() {
  echo "release-check: $*" >&2
  exit 1
}

[ -d "$dist" ] || fail "no $dist/ directory: run goreleaser first"

shopt -s nullglob
sumfiles=("$dist"/${name}_*_SHA256SUMS)
[ ${#sumfiles[@]} -eq 1 ] || fail "want one ${name}_<version>_SHA256SUMS in $dist/, found ${#sumfiles[@]}"
sums=${sumfiles[0]}
version=${sums#"$dist/${name}_"}
version=${version%_SHA256SUMS}

zips=("$dist"/*.zip)
[ ${#zips[@]} -eq ${#platforms[@]} ] || fail "want ${#platforms[@]} zips in $dist/, found ${#zips[@]}: ${zips[*]##*/}"
for p in "${platforms[@]}"; do
  zip="$dist/${name}_${version}_${p}.zip"
  [ -f "$zip" ] || fail "missing $zip"
  bin="${name}_v${version}"
  [[ $p == windows_* ]] && bin+=".exe"
  # The binary at the top of the archive, where Terraform's installer looks for
  # it, beside only the license and the docs goreleaser adds by default.
  entries=$(zipinfo -1 "$zip")
  echo "$entries" | grep -qx "$bin" || fail "$zip lacks $bin at its top level: it holds [$(echo "$entries" | tr '\n' ' ')]"
  others=$(echo "$entries" | grep -vx -e "$bin" -e LICENSE -e README.md -e CHANGELOG.md || true)
  [ -z "$others" ] || fail "$zip holds unexpected files: $(echo "$others" | tr '\n' ' ')"
done

# The registry manifest: goreleaser checksums it (checksum.extra_files) and
# uploads it with the release (release.extra_files), under the same name; a
# snapshot publishes nothing, so it is not in dist/. Check that both name it
# alike in the configuration goreleaser used, then put it into dist/ under that
# name: dist/ then holds every file a release publishes but the signature.
manifest="$dist/${name}_${version}_manifest.json"
n=$(grep -c "^ *name_template: '{{ .ProjectName }}_{{ .Version }}_manifest.json'\$" "$dist/config.yaml" || true)
[ "$n" -eq 2 ] || fail "$dist/config.yaml: want the manifest under {{ .ProjectName }}_{{ .Version }}_manifest.json in both checksum.extra_files and release.extra_files, found $n"
cp terraform-registry-manifest.json "$manifest"

want=$( (for z in "${zips[@]}"; do basename "$z"; done; basename "$manifest") | sort)
got=$(awk '{print $2}' "$sums" | sort)
[ "$got" = "$want" ] || fail "$sums lists [$(echo "$got" | tr '\n' ' ')], want [$(echo "$want" | tr '\n' ' ')]"
(cd "$dist" && sha256sum --quiet -c "$(basename "$sums")") || fail "a sum in $sums does not match its file"

# The linux/amd64 build starts and says it is a plugin (it refuses to run outside Terraform).
if [ "$(uname -s)_$(uname -m)" = "Linux_x86_64" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  unzip -q "$dist/${name}_${version}_linux_amd64.zip" -d "$tmp"
  out=$("$tmp/${name}_v${version}" 2>&1 || true)
  case $out in
  *"plugin"*) ;;
  *) fail "the linux_amd64 binary did not start as a Terraform plugin: $out" ;;
  esac
fi

echo "release-check: $dist/ holds ${#zips[@]} platform zips, SHA256SUMS and the manifest it lists (version $version)"

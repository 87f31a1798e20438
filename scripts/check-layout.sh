#!/usr/bin/env bash
# Fails when the README's "Layout" section and notes/architecture.md are out of
# step with the packages: every Go package under internal/ (as `go list ./...`
# sees them) must have its line in the layout and be named in the architecture
# document, main.go must be in the layout, and every path the layout names must
# exist (an internal/ path must still be a package).
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
readme=README.md
arch=notes/architecture.md

module=$("$go" list -m)
# Package directories relative to the module root ("" for the root package).
pkgs=$("$go" list -e -f '{{.ImportPath}}' ./... | sed -e "s#^${module}/##" -e "s#^${module}\$##")

# The first field of each line of the code block under "## Layout".
layout=$(awk '
	/^## / { in_section = ($0 == "## Layout"); next }
	in_section && /^```/ { in_block = !in_block; next }
	in_section && in_block && NF { print $1 }
' "$readme")
if [ -z "$layout" ]; then
	echo "check-layout: $readme has no code block under \"## Layout\""
	exit 1
fi

# mentions FILE PATH: FILE names PATH itself (internal/x or internal/x/), not
# only a path below it.
mentions() {
	local re
	re=$(printf '%s' "$2" | sed 's/[.]/\\./g')
	grep -Eq "(^|[^A-Za-z0-9_./-])${re}/?([^A-Za-z0-9_/-]|\$)" "$1"
}

errors=()
in_layout() { printf '%s\n' "$layout" | grep -Fxq -e "$1" -e "$1/"; }

if ! in_layout main.go; then
	errors+=("main.go (the root package) is missing from the README's layout")
fi
while IFS= read -r p; do
	case $p in
	internal/*) ;;
	*) continue ;;
	esac
	in_layout "$p" || errors+=("package $p is missing from the README's layout")
	mentions "$arch" "$p" || errors+=("package $p is missing from $arch")
done <<<"$pkgs"

while IFS= read -r entry; do
	path=${entry%/}
	case $path in
	internal/*)
		printf '%s\n' "$pkgs" | grep -Fxq -e "$path" ||
			errors+=("the README's layout names $entry, which is not a package (any more)")
		;;
	*)
		[ -e "$path" ] || errors+=("the README's layout names $entry, which does not exist")
		;;
	esac
done <<<"$layout"

if [ ${#errors[@]} -gt 0 ]; then
	echo "check-layout: the README's layout or $arch is out of step with the packages:"
	printf '  - %s\n' "${errors[@]}"
	echo "Give each package one line in the README's \"Layout\" section and its place in $arch."
	exit 1
fi
echo "check-layout: the README's layout and $arch name every package"

#!/usr/bin/env bash
# Fails when a tracked file cites a document that is not in the repository: the
# behaviour the code relies on is written down in notes/ with its sources, so a
# maintainer can check every claim from a clone.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='AWS-API\.md|\.\./shared/|DESIGN\.md|STYLE\.md'
if hits=$(git grep -nE "$pattern" -- . ':!scripts/check-citations.sh'); then
	echo "These lines cite documents outside the repository; cite notes/ (or the public source) instead:"
	echo "$hits"
	exit 1
fi
echo "check-citations: no file cites a document outside the repository"

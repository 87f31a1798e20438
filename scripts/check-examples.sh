#!/usr/bin/env bash
# Every example is valid: `terraform fmt -check` over examples/, and
# `terraform validate` of each example directory against the provider built
# from this tree (dev_overrides, so no registry is needed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
terraform=${TERRAFORM:-$root/bin/terraform}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$terraform" fmt -check -recursive -diff examples

go build -o "$work/plugins/terraform-provider-ssm" .
cat >"$work/dev.tfrc" <<RC
provider_installation {
  dev_overrides {
    "terraform-ssm/ssm" = "$work/plugins"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/dev.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

# Write-only attributes (content_wo) need Terraform >= 1.11: examples using them
# are validated with a `terraform` on PATH that is new enough, or skipped with a
# message when there is none.
tf_wo=""
if command -v terraform >/dev/null 2>&1; then
  v=$(terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
  if [ -n "$v" ] && [ "$(printf '%s\n1.11.0\n' "$v" | sort -V | head -n1)" = "1.11.0" ]; then
    tf_wo=$(command -v terraform)
  fi
fi

n=0
while IFS= read -r dir; do
  tf=$terraform
  if grep -q '_wo\b' "$dir"/*.tf; then
    if [ -z "$tf_wo" ]; then
      echo "examples: $dir uses write-only attributes and no Terraform >= 1.11 is on PATH: not validated"
      continue
    fi
    tf=$tf_wo
  fi
  d="$work/ex$n"
  mkdir -p "$d"
  cp "$dir"/*.tf "$d/"
  if ! grep -q required_providers "$d"/*.tf; then
    printf 'terraform {\n  required_providers {\n    ssm = { source = "terraform-ssm/ssm" }\n  }\n}\n' >"$d/zz_versions.tf"
  fi
  # Examples may read files beside them (file(), filesha256()).
  find "$dir" -maxdepth 1 -type f ! -name '*.tf' -exec cp {} "$d/" \;
  if ! out=$(cd "$d" && "$tf" validate -no-color 2>&1); then
    echo "examples: $dir is not valid:"
    echo "$out"
    exit 1
  fi
  n=$((n + 1))
done < <(find examples -name '*.tf' -printf '%h\n' | sort -u)
echo "examples: $n directories formatted and valid"

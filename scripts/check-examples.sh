#!/usr/bin/env bash
# Every example is valid: `terraform fmt -check` over examples/, and
# `terraform validate` of each example directory against the provider built
# from this tree (dev_overrides, so no registry is needed). The same for the
# HCL blocks of the guides (templates/guides), see below.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
terraform=${TERRAFORM:-$(ls "$root"/bin/terraform-* 2>/dev/null | sort -V | tail -n 1)}
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

# The examples use every kind of schema the provider has: actions (ssm_command)
# need Terraform >= 1.14, write-only attributes (content_wo) >= 1.11, ephemeral
# resources (ssm_remote_file, ssm_port_forward) >= 1.10. So $terraform must be
# 1.14 or newer (make passes the newest, ./bin/terraform-<version>).
v=$("$terraform" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')
if [ -z "$v" ] || [ "$(printf '%s\n1.14.0\n' "$v" | sort -V | head -n1)" != "1.14.0" ]; then
  echo "examples: $terraform is Terraform ${v:-of unknown version}; the examples need Terraform 1.14 or later (make terraform)" >&2
  exit 1
fi

n=0
while IFS= read -r dir; do
  tf=$terraform
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

# The guides' HCL: every ```terraform block of templates/guides/* is formatted,
# and is a complete configuration that validates, unless the line before its
# fence (blank lines aside) is the marker
#   <!-- check-examples: fmt-only -->
# (snippets of the configurations a guide replaces, which use other providers
# or undeclared variables). Files a block reads through ${path.module}/... are
# created beside it, holding a placeholder line.
g=0
v=0
for guide in templates/guides/*.md*; do
  [ -f "$guide" ] || continue
  out="$work/guides/$(basename "$guide")"
  mkdir -p "$out"
  awk -v out="$out" '
    /^```terraform[[:space:]]*$/ {
      n++; f = sprintf("%s/%03d", out, n); system("mkdir -p " f)
      print NR > (f "/line"); close(f "/line")
      if (mark) { print "" > (f "/fmt-only"); close(f "/fmt-only") }
      mark = 0; inblock = 1; next
    }
    inblock && /^```[[:space:]]*$/ { inblock = 0; close(f "/main.tf"); next }
    inblock { print > (f "/main.tf"); next }
    /^<!-- check-examples: fmt-only -->[[:space:]]*$/ { mark = 1; next }
    NF { mark = 0 }
    END { if (inblock) { print FILENAME ": unterminated ```terraform block" > "/dev/stderr"; exit 1 } }
  ' "$guide"
  for d in "$out"/*/; do
    [ -f "$d/main.tf" ] || continue
    where="$guide:$(cat "$d/line")"
    g=$((g + 1))
    if ! fmtout=$("$terraform" fmt -check -diff -no-color "$d/main.tf" 2>&1); then
      echo "examples: the block at $where is not formatted (terraform fmt):"
      echo "$fmtout"
      exit 1
    fi
    [ -f "$d/fmt-only" ] && continue
    tf=$terraform
    if ! grep -q required_providers "$d/main.tf"; then
      printf 'terraform {\n  required_providers {\n    ssm = { source = "terraform-ssm/ssm" }\n  }\n}\n' >"$d/zz_versions.tf"
    fi
    { grep -o '\${path\.module}/[A-Za-z0-9._/-]*' "$d/main.tf" || true; } | sed 's|^\${path\.module}/||' | while IFS= read -r f; do
      mkdir -p "$d/$(dirname "$f")"
      [ -e "$d/$f" ] || echo placeholder >"$d/$f"
    done
    if ! valout=$(cd "$d" && "$tf" validate -no-color 2>&1); then
      echo "examples: the block at $where is not a valid configuration (mark snippets that are not complete configurations with <!-- check-examples: fmt-only --> before the fence):"
      echo "$valout"
      exit 1
    fi
    v=$((v + 1))
  done
done
echo "examples: $g guide blocks formatted, $v of them complete configurations that validate"

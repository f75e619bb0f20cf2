#!/usr/bin/env bash
# Lints the synthesized CloudFormation of the dev and prod stages (parent and nested templates) with cfn-lint.
# Errors fail; warnings are printed. W3005 is ignored: CDK states a function's dependency on its role twice
# (DependsOn and GetAtt), which is harmless. Part of `npm test`.
# cfn-lint is a Python tool (pip install cfn-lint); set EVENT_ROUTER_SKIP_CFN_LINT=1 to skip it on a machine
# without Python — CI never skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${EVENT_ROUTER_SKIP_CFN_LINT:-}" == "1" ]]; then
  echo "lint:cfn: skipped (EVENT_ROUTER_SKIP_CFN_LINT=1)"
  exit 0
fi
if ! command -v cfn-lint >/dev/null 2>&1; then
  echo "lint:cfn: cfn-lint is not installed. Install it with 'pip install cfn-lint' (or 'pipx install cfn-lint')," >&2
  echo "or set EVENT_ROUTER_SKIP_CFN_LINT=1 to skip template linting on this machine." >&2
  exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for stage in dev prod; do
  npx cdk synth --quiet -c "stage=$stage" -o "$out/$stage" >/dev/null
done
set +e
cfn-lint --format parseable --ignore-checks W3005 -- "$out"/dev/*.template.json "$out"/prod/*.template.json
status=$?
set -e
# cfn-lint's exit status is a bit mask: 2 = errors, 4 = warnings, 8 = informational.
if (( status & 2 )) || (( status & 1 )); then
  echo "lint:cfn: cfn-lint found errors in the synthesized templates" >&2
  exit 1
fi
echo "lint:cfn: no errors in $(ls "$out"/dev/*.template.json "$out"/prod/*.template.json | wc -l) templates (dev, prod)"

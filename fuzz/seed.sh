#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the shipped policies and fixture tenants (the corpus itself
# is not committed). Run from the repository root: bash fuzz/seed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p fuzz/corpus/policy_loader fuzz/corpus/evaluator fuzz/corpus/snapshot_loader
for f in policies/*/*.yaml; do cp "$f" "fuzz/corpus/policy_loader/$(basename "$f")"; done
for t in fixtures/tenants/*; do
  for f in "$t"/*.json; do
    name="$(basename "$t")-$(basename "$f")"
    cp "$f" "fuzz/corpus/evaluator/$name"
    { cat "$t/manifest.json"; printf '\0'; cat "$f"; } > "fuzz/corpus/snapshot_loader/$name"
  done
done

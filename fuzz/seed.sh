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
# The generated targets start from a few hand-made inputs: a mode byte, then the generator's bytes.
mkdir -p fuzz/corpus/hostile_files fuzz/corpus/hostile_text
printf '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00' > fuzz/corpus/hostile_files/regular
printf '\x01\x01\x02\x01\x03\x00\x01\x00' > fuzz/corpus/hostile_files/links
printf '\x00%s' "2027-12-31" > fuzz/corpus/hostile_text/date
printf '\x00%s' "2027-12-31 but only if renewed" > fuzz/corpus/hostile_text/date-trailing
printf '\x00%s' "2026-10-14T08:00:00.1234567Z" > fuzz/corpus/hostile_text/time
printf '\x01\x00\x01\x01\x07\x03' > fuzz/corpus/hostile_text/dpo
printf '\x02Stad \x1b[2J\x1b]8;;https://x.example\x07k\xc2\x9b\xe2\x80\xae' > fuzz/corpus/hostile_text/escapes

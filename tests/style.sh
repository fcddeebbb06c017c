#!/usr/bin/env bash
# style.sh — the C style, checked: every C file of the tree is formatted as
# .clang-format says and opens with its header line ("/* NAME — what it is
# for"). Exit 0: clean; 1: the files that are not, with clang-format's diff.
#
#     bash tests/style.sh [ROOT]
set -uo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" || exit 2
command -v clang-format >/dev/null || { echo "style: clang-format not found (bash .ci/deps)"; exit 2; }

dirs=()
for d in server faults tests fuzz bench client-tests; do [ -d "$d" ] && dirs+=("$d"); done
mapfile -t files < <(find "${dirs[@]}" -name '*.[ch]' -not -path '*/corpus/*' | sort)
bad=0
for f in "${files[@]}"; do
  if ! out=$(clang-format --style=file "$f" | diff -u "$f" - ); then
    echo "$f: not as .clang-format says:"
    echo "$out" | head -20
    bad=$((bad + 1))
  fi
  name=$(basename "$f")
  if ! head -1 "$f" | grep -q "^/\* $name — "; then
    echo "$f:1: the first line must be \"/* $name — what this file is for\""
    bad=$((bad + 1))
  fi
done
echo "style: ${#files[@]} files, $bad problem$([ "$bad" = 1 ] || echo s)"
[ "$bad" -eq 0 ]

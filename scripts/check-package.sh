#!/usr/bin/env bash
# npm run check:package (part of npm test, after the build): packs dist/ once and checks the tarball a user
# would get, offline.
# - publint: package.json's exports, files, bin and type against the files actually packed.
# - attw --profile esm-only: every subpath's types resolve under node16 (from ESM) and bundler. The profile
#   skips node10 and node16-from-CJS, the two modes in which a `require` consumer would load this ESM-only
#   package; `--ignore-rules cjs-resolves-to-esm` alone would still fail on node10, which ignores `exports`.
# - no *.map files: tsconfig emits none, since the sources they would point to are not shipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ -f dist/src/index.js ] || { echo "dist/src is missing: run npm run build first" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/litefs-forward-pack.XXXXXX")"
trap 'rm -rf "$work"' EXIT
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -1)"

./node_modules/.bin/publint run --strict "$tarball"
./node_modules/.bin/attw --profile esm-only --no-emoji --no-color --format table-flipped "$tarball"
if tar tzf "$tarball" | grep '\.map$'; then
  echo "the package above ships source maps, whose sources are not in it" >&2
  exit 1
fi

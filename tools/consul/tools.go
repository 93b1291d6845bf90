//go:build tools

// Package tools pins the Consul agent so that `go build` can produce it from
// this module (see scripts/install-cluster-tools.sh).
package tools

import (
	_ "github.com/hashicorp/consul"
)

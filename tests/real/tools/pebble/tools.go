//go:build tools

// Package tools pins Pebble's main package so that `go mod tidy` records what it needs.
package tools

import _ "github.com/letsencrypt/pebble/v2/cmd/pebble"

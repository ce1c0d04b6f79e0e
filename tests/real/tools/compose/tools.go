//go:build tools

// Package tools pins Compose's main package so that `go mod tidy` records what it needs.
package tools

import _ "github.com/docker/compose/v2/cmd"

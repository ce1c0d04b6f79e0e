//go:build tools

// Package tools pins Traefik's main package so that `go mod tidy` records what it needs.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"

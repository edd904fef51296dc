//go:build tools

// Package tools keeps the tigera-operator's command in go.mod; test/e2e/cluster builds it by import path.
package tools

import _ "github.com/tigera/operator/cmd"

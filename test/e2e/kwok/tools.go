//go:build tools

// Package tools keeps kwok's command in go.mod; test/e2e/cluster builds it by import path.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"

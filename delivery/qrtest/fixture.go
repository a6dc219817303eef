package qrtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RealTokenLen is the length of the recorded controller token.
const RealTokenLen = 1009

// RealToken is the enrollment token a real OpenZiti controller (v2.0.3)
// issued: RS256, 1,009 characters, recorded in the shared fixtures beside
// the repository (../shared/openziti/real-v2.0.3/jwt-ott.txt). The tests use
// it rather than a made-up token of the same length.
func RealToken(t testing.TB) string {
	t.Helper()
	path, err := realTokenPath()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the recorded controller token: %v", err)
	}
	tok := strings.TrimSpace(string(data))
	if len(tok) != RealTokenLen {
		t.Fatalf("the recorded token %s has %d characters, want %d", path, len(tok), RealTokenLen)
	}
	return tok
}

// realTokenPath finds the repository root (the folder with go.mod) above
// the working folder and the fixture beside it.
func realTokenPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "openziti", "real-v2.0.3", "jwt-ott.txt"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working folder: cannot find ../shared beside the repository")
		}
		dir = parent
	}
}

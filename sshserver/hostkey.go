package sshserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// ensureHostKey returns the host key at path, generating an Ed25519 key
// there (mode 0600, its directory 0700) on first start. idcon writes the key
// itself so that wish never falls back to writing id_ed25519 into the
// current directory.
func ensureHostKey(path string, log *slog.Logger) (gossh.Signer, error) {
	if path == "" {
		return nil, errors.New("no host key path given: pass --host-key PATH")
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if data, err = generateHostKey(path); err != nil {
			return nil, err
		}
		log.Info("generated a new host key", "path", path)
	} else if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s is not an unencrypted private key (%v): move it away to have a new one generated", path, err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		log.Warn("the host key is readable by other users: chmod 600 it", "path", path, "mode", st.Mode().Perm().String())
	}
	return signer, nil
}

func generateHostKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "idcon host key")
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	data := pem.EncodeToMemory(block)
	// O_EXCL: two servers starting at once must not overwrite each other's key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("host key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("host key: %w", err)
	}
	return data, nil
}

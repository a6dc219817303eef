package ui

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// The commands below are the only places the console does I/O: each runs in
// a tea.Cmd, off the Update loop, with a deadline.

func loadNetworksCmd(b backend.Backend, timeout time.Duration, stateFile string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		nets, err := b.Networks(ctx)
		return networksLoadedMsg{networks: nets, last: readLastNetwork(stateFile), err: err}
	}
}

func loadPageCmd(b backend.Backend, timeout time.Duration, network string, gen int, q model.ListQuery) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		start := time.Now()
		p, err := b.Identities(ctx, network, q)
		return pageLoadedMsg{gen: gen, offset: q.Offset, page: p, err: err, took: time.Since(start)}
	}
}

func loadIdentityCmd(b backend.Backend, timeout time.Duration, network, id string, seq int, note string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ident, err := b.Identity(ctx, network, id)
		return identityLoadedMsg{seq: seq, identity: ident, err: err, note: note}
	}
}

// stateFile is what the console remembers between runs.
type stateFile struct {
	Network string `json:"network"`
}

// readLastNetwork returns the remembered network, or "" when there is none
// or the file can't be read (remembering is a convenience, never an error
// that stops the console).
func readLastNetwork(path string) string {
	if path == "" {
		return ""
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var st stateFile
	if json.Unmarshal(data, &st) != nil {
		return ""
	}
	return st.Network
}

func saveLastNetworkCmd(path, network string) tea.Cmd {
	if path == "" {
		return nil
	}
	return func() tea.Msg { return stateSavedMsg{err: writeLastNetwork(path, network)} }
}

// writeLastNetwork replaces the state file atomically (write then rename),
// readable by its owner only.
func writeLastNetwork(path, network string) error {
	data, err := json.Marshal(stateFile{Network: network})
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".idcon-state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// tokenFile is the file -o names for a token. It is prepared before the
// token is issued, so that a folder that can't be written to stops the
// command before anything changes; the token then goes to a temporary file
// readable by its owner only, renamed over the target in one step, so the
// file is never half written nor readable by others.
type tokenFile struct {
	path string
	tmp  *os.File
}

// prepareTokenFile checks that path can hold the token and opens the
// temporary file beside it.
func prepareTokenFile(path string) (*tokenFile, error) {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return nil, failf("%s is a folder; give a file name for the token, such as %s", path, filepath.Join(path, "token.jwt"))
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".idcon-token-*") // 0600
	if err != nil {
		return nil, failf("can't write the token next to %s: %s; choose a folder you can write to", path, pathErr(err))
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, failf("can't restrict the token file in %s: %s; choose another folder", dir, pathErr(err))
	}
	return &tokenFile{path: path, tmp: tmp}, nil
}

// commit writes the token, exactly, and moves it into place.
func (t *tokenFile) commit(jwt string) error {
	name := t.tmp.Name()
	_, err := t.tmp.WriteString(jwt)
	if err == nil {
		err = t.tmp.Sync()
	}
	if cerr := t.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, t.path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("can't write %s: %w", t.path, pathErr(err))
	}
	return nil
}

// discard removes the temporary file when no token comes.
func (t *tokenFile) discard() {
	if t == nil {
		return
	}
	t.tmp.Close()
	os.Remove(t.tmp.Name())
}

// pathErr drops the path a *PathError repeats: "permission denied"
// rather than "open /x/.idcon-token-123: permission denied".
func pathErr(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

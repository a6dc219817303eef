package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/idcon/idcon/delivery"
)

// tokenFile is the place -o names for a token (delivery.Output: a file
// replaced in one step, a device or FIFO written into, "-" for standard
// output; never a link or anything else replaced). It is prepared before
// the token is issued, so that a place that can't take it stops the
// command before anything changes.
type tokenFile struct {
	*delivery.Output
}

// prepareTokenFile checks path and opens what the token will go to.
func (a *app) prepareTokenFile(path string) (*tokenFile, error) {
	out, err := delivery.OpenOutput(path, a.stdout)
	if err != nil {
		return nil, failf("%s", err)
	}
	return &tokenFile{out}, nil
}

// commit writes the token, exactly (with a final newline on standard
// output, a terminal or a pipe), and finishes the output.
func (t *tokenFile) commit(jwt string) error {
	if !t.IsFile() {
		jwt += "\n"
	}
	if _, err := t.Write([]byte(jwt)); err != nil {
		t.Discard()
		return fmt.Errorf("can't write %s: %w", t.Path(), pathErr(err))
	}
	return t.Commit()
}

// discard drops the output when no token came.
func (t *tokenFile) discard() {
	if t != nil {
		t.Discard()
	}
}

// where says where the token went, for the summary line.
func (t *tokenFile) where() string {
	switch {
	case t.IsStdout():
		return "on standard output"
	case t.IsFile():
		return "in " + t.Path() + " (readable by you only)"
	}
	return "written to " + t.Path()
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

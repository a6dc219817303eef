package delivery

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Output is the place an admin named for a token (the CLI's -o PATH). It
// is opened before the token is issued, so that a place that can't take it
// stops the command before anything changes, and it never destroys what
// was at PATH unless that was a regular file:
//
//   - "-" is standard output;
//   - a new name, or a regular file, gets a temporary file readable by its
//     owner only (0600) that is renamed into place in one step at Commit,
//     so the file is never half written nor readable by others;
//   - a character device (/dev/null, a terminal) or a FIFO is written into
//     and stays what it is; a symlink to one (/dev/stdout, /dev/fd/N) is
//     followed;
//   - a folder, a socket, a block device, and a symlink to a file or to
//     nothing are refused with one line saying what to do: idcon neither
//     replaces a link nor writes through it into a file.
type Output struct {
	path    string
	kind    outputKind
	f       *os.File  // the temporary file, or the device or FIFO opened for writing
	stdout  io.Writer // kind outStdout
	written bool
}

type outputKind int

const (
	outFile   outputKind = iota // a new or regular file, replaced by rename
	outStream                   // a character device or FIFO, written into
	outStdout                   // "-"
)

// OpenOutput checks path and opens what the token will be written to.
// stdout is where "-" writes.
func OpenOutput(path string, stdout io.Writer) (*Output, error) {
	if path == "-" {
		return &Output{path: path, kind: outStdout, stdout: stdout}, nil
	}
	if path == "" {
		return nil, errors.New("no file named: give a file name, or - for standard output")
	}
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return openTemp(path)
	case err != nil:
		return nil, fmt.Errorf("can't use %s: %v", path, pathErrText(err))
	}
	mode := info.Mode()
	if mode&fs.ModeSymlink != 0 {
		to, _ := os.Readlink(path)
		if target, err := os.Stat(path); err == nil && isStream(target.Mode()) {
			return openStream(path)
		}
		return nil, fmt.Errorf("%s is a symbolic link (to %s): idcon doesn't replace links or write through them; give %s itself, or another name", path, to, to)
	}
	switch {
	case mode.IsRegular():
		return openTemp(path)
	case isStream(mode):
		return openStream(path)
	case mode.IsDir():
		return nil, fmt.Errorf("%s is a folder; give a file name for the token, such as %s", path, filepath.Join(path, "token.jwt"))
	}
	return nil, fmt.Errorf("%s is %s, not a file: give a file name for the token", path, kindWords(mode))
}

// isStream: a character device or a FIFO, written into rather than replaced.
func isStream(m fs.FileMode) bool {
	return m&fs.ModeNamedPipe != 0 || (m&fs.ModeDevice != 0 && m&fs.ModeCharDevice != 0)
}

// kindWords names what is at a path that isn't a regular file.
func kindWords(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

func openTemp(path string) (*Output, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".idcon-token-*") // 0600
	if err != nil {
		return nil, fmt.Errorf("can't write the token next to %s: %v; choose a folder you can write to", path, pathErrText(err))
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, fmt.Errorf("can't restrict the token file in %s: %v; choose another folder", dir, pathErrText(err))
	}
	return &Output{path: path, kind: outFile, f: tmp}, nil
}

func openStream(path string) (*Output, error) {
	// No O_CREATE and no O_TRUNC: a device or FIFO is only written to.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("can't write to %s: %v", path, pathErrText(err))
	}
	// What was opened may not be what was checked (it could have been
	// swapped in between): write only into a device or FIFO.
	if info, err := f.Stat(); err != nil || !isStream(info.Mode()) {
		f.Close()
		return nil, fmt.Errorf("%s changed while idcon opened it: try again", path)
	}
	return &Output{path: path, kind: outStream, f: f}, nil
}

// Path is the path the admin named ("-" for standard output).
func (o *Output) Path() string { return o.path }

// IsStdout reports whether the token goes to standard output, so that what
// the command would say about it goes to standard error instead.
func (o *Output) IsStdout() bool { return o.kind == outStdout }

// IsFile reports whether the token lands in a file of its own (0600), as
// opposed to a device, a FIFO or standard output.
func (o *Output) IsFile() bool { return o.kind == outFile }

// Write writes to the temporary file, the device or standard output.
func (o *Output) Write(p []byte) (int, error) {
	o.written = true
	if o.kind == outStdout {
		return o.stdout.Write(p)
	}
	return o.f.Write(p)
}

// Commit finishes the output: a file is synced and moved into place (only
// over a regular file or nothing: if something else appeared there
// meanwhile, it is left alone and Commit says so).
func (o *Output) Commit() error {
	switch o.kind {
	case outStdout:
		return nil
	case outStream:
		err := o.f.Close()
		o.f = nil
		if err != nil {
			return fmt.Errorf("can't write to %s: %v", o.path, pathErrText(err))
		}
		return nil
	}
	name := o.f.Name()
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	o.f = nil
	if err == nil {
		err = placeFile(name, o.path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("can't write %s: %v", o.path, pathErrText(err))
	}
	return nil
}

// placeFile moves the finished temporary file tmp to path: where nothing
// is, by a hard link (which, unlike a rename, never replaces what appeared
// there meanwhile); over a regular file, by a rename.
func placeFile(tmp, path string) error {
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		lerr := os.Link(tmp, path)
		if lerr == nil {
			os.Remove(tmp)
			return nil
		}
		if errors.Is(lerr, fs.ErrExist) {
			return fmt.Errorf("something appeared at %s meanwhile and was left alone", path)
		}
		if !errors.Is(lerr, syscall.EPERM) && !errors.Is(lerr, syscall.ENOTSUP) && !errors.Is(lerr, syscall.EXDEV) {
			return lerr
		}
		// A file system without hard links: a rename it is.
	case err != nil:
		return err
	case !info.Mode().IsRegular():
		return fmt.Errorf("%s became %s meanwhile and was left alone", path, kindWords(info.Mode()))
	}
	return os.Rename(tmp, path)
}

// Discard drops the output when no token came: the temporary file goes.
func (o *Output) Discard() {
	if o == nil || o.f == nil {
		return
	}
	name := o.f.Name()
	o.f.Close()
	if o.kind == outFile {
		os.Remove(name)
	}
	o.f = nil
}

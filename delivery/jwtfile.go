package delivery

import (
	"cmp"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFileStem bounds the part of a file name taken from the identity name,
// in bytes: far below the usual 255-byte limit, leaving room for suffixes
// such as "-qr.png" and for editors' backup names.
const maxFileStem = 120

// ErrExists is matched (errors.Is) by the error WriteJWT returns when the
// file is already there and overwrite was not asked for. The error is an
// *ExistsError carrying the name and folder for the question to the admin.
var ErrExists = errors.New("file exists")

// ExistsError says which file is in the way, so the UI can ask
// "laptop-alice.jwt exists in /x: overwrite? y/n".
type ExistsError struct {
	Name string // the file name, as SafeFileName made it
	Dir  string // the absolute folder
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("%s exists in %s: choose overwrite to replace it", e.Name, e.Dir)
}

// Is makes errors.Is(err, ErrExists) true.
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// SafeFileName turns an identity name into a file name "<name>.jwt" that is
// safe to create in any folder and to attach to an email: no path
// separators, no "..", no control, format (bidi, zero-width) or other
// invisible characters, no leading dot or dash (no hidden files, nothing a
// shell command could take for an option), at most about 120 bytes, never
// empty. Letters and digits of any script are kept; other characters
// become "-".
func SafeFileName(identityName string) string {
	return safeStem(identityName) + ".jwt"
}

// safeStem is SafeFileName without the extension.
func safeStem(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	lastSep := true // treat the start as after a separator: drops leading '-' and '.'
	for _, r := range name {
		var out rune
		switch {
		case r == utf8.RuneError, unicode.IsSpace(r):
			// Invalid UTF-8 and white space (tabs and line breaks too).
			out = '-'
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r), unicode.Is(unicode.Mn, r) && b.Len() == 0:
			// Invisible: a control character, a bidi override, a zero-width
			// character, or a combining mark with nothing to combine with.
			continue
		case unicode.IsLetter(r), unicode.IsDigit(r), unicode.Is(unicode.Mn, r), unicode.Is(unicode.Mc, r):
			out = r
		case r == '_' || r == '@' || r == '+' || r == '=' || r == ',':
			out = r
		case r == '.':
			out = '.'
		default:
			// Separators, spaces, slashes, quotes, shell and Windows
			// metacharacters, symbols.
			out = '-'
		}
		isSep := out == '-' || out == '.'
		if isSep {
			if lastSep {
				// Collapses "--", "..", ".-", and drops leading ones.
				continue
			}
		}
		if b.Len()+utf8.RuneLen(out) > maxFileStem {
			break
		}
		b.WriteRune(out)
		lastSep = isSep
	}
	stem := strings.TrimRight(b.String(), "-.")
	if stem == "" {
		return "identity"
	}
	if isWindowsDeviceName(stem) {
		// "CON.jwt" cannot be opened on Windows, where the user may save it.
		return "identity-" + stem
	}
	return stem
}

// isWindowsDeviceName reports whether stem (before any dot) is a reserved
// DOS device name.
func isWindowsDeviceName(stem string) bool {
	base, _, _ := strings.Cut(stem, ".")
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return true
	}
	return false
}

// WriteJWT writes jwt, exactly and nothing else, to the file
// SafeFileName(identityName) in dir, readable by its owner only (0600), and
// returns the file's absolute path. The file always lands directly in dir,
// whatever the name holds.
//
// Without overwrite an existing file is left alone and the error matches
// ErrExists (an *ExistsError; the path is still returned, for the question
// to the admin). With overwrite the new file replaces the old one in one
// rename, so a reader never sees half a token. Anything else in the way (a
// symlink, a device, a FIFO, a folder) is never replaced nor written
// through: the error says what it is.
func WriteJWT(dir, identityName, jwt string, overwrite bool) (path string, err error) {
	if jwt == "" {
		return "", errors.New("there is no token to write")
	}
	absDir, name, path, err := jwtTarget(dir, identityName)
	if err != nil {
		return "", err
	}
	if overwrite {
		return path, replaceFile(absDir, path, jwt)
	}
	return path, createExclusive(absDir, name, path, jwt)
}

// JWTTarget says where WriteJWT would write identityName's token in dir,
// and checks it as WriteJWT does without writing anything: the folder must
// exist, and a file (or symlink) already there is an *ExistsError matching
// ErrExists. A caller that must fetch the token first (an audited read)
// asks here, so that it fetches only when the write can happen; WriteJWT
// still refuses to overwrite a file that appears in between.
func JWTTarget(dir, identityName string) (path string, err error) {
	absDir, name, path, err := jwtTarget(dir, identityName)
	if err != nil {
		return "", err
	}
	if info, err := os.Lstat(path); err == nil {
		if !info.Mode().IsRegular() {
			return "", notRegular(name, absDir, info.Mode())
		}
		return path, &ExistsError{Name: name, Dir: absDir}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("cannot use %s: %w", path, pathErrText(err))
	}
	return path, nil
}

// jwtTarget resolves the folder (which must exist) and the file name.
func jwtTarget(dir, identityName string) (absDir, name, path string, err error) {
	if dir == "" {
		dir = "."
	}
	absDir, err = filepath.Abs(dir)
	if err != nil {
		return "", "", "", fmt.Errorf("cannot use the folder %s: %w", dir, err)
	}
	info, err := os.Stat(absDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", "", "", fmt.Errorf("the folder %s does not exist: create it or choose another", absDir)
	case err != nil:
		return "", "", "", fmt.Errorf("cannot use the folder %s: %w", absDir, pathErrText(err))
	case !info.IsDir():
		return "", "", "", fmt.Errorf("%s is not a folder: choose a folder to save the token in", absDir)
	}
	name = SafeFileName(identityName)
	path = filepath.Join(absDir, name)
	if filepath.Dir(path) != absDir {
		// SafeFileName leaves no separator; this guards the guarantee itself.
		return "", "", "", fmt.Errorf("refusing the file name %q: it leaves the folder", name)
	}
	return absDir, name, path, nil
}

// createExclusive creates path only if nothing is there (O_EXCL also
// refuses a dangling symlink) and removes it again if the write fails.
func createExclusive(absDir, name, path, jwt string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return &ExistsError{Name: name, Dir: absDir}
	}
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, pathErrText(err))
	}
	if err := writeAndClose(f, jwt); err != nil {
		os.Remove(path)
		return fmt.Errorf("cannot write %s: %w", path, pathErrText(err))
	}
	return nil
}

// notRegular refuses to replace what isn't a regular file.
func notRegular(name, absDir string, m fs.FileMode) error {
	return fmt.Errorf("%s in %s is %s, not a file: idcon replaces only files; remove it or choose another folder", name, absDir, kindWords(m))
}

// replaceFile writes a temporary file beside path and moves it over path,
// which must be a regular file or nothing (placeFile).
func replaceFile(absDir, path, jwt string) error {
	if info, err := os.Lstat(path); err == nil && !info.Mode().IsRegular() {
		return notRegular(filepath.Base(path), absDir, info.Mode())
	}
	tmp, err := os.CreateTemp(absDir, ".idcon-jwt-*") // CreateTemp uses 0600
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %w", absDir, pathErrText(err))
	}
	tmpName := tmp.Name()
	if err := writeAndClose(tmp, jwt); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("cannot write %s: %w", path, pathErrText(err))
	}
	if err := placeFile(tmpName, path); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("cannot replace %s: %w", path, pathErrText(err))
	}
	return nil
}

func writeAndClose(f *os.File, jwt string) error {
	_, err := f.WriteString(jwt)
	return cmp.Or(err, f.Sync(), f.Close()) // all three run; the first error is the one said
}

// pathErrText drops the *PathError's repetition of the path, which the
// message already names: "permission denied" rather than
// "open /x/a.jwt: permission denied".
func pathErrText(err error) error {
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

// OSC52 returns the OSC 52 escape sequence that asks the terminal to put
// text on the system clipboard ("c"), BEL-terminated as most terminals and
// tmux expect. The TUI may use tea.SetClipboard instead; the CLI writes this
// to its terminal. Terminals may refuse it (many do by default, or cap its
// length): say where the token was meant to go, and offer the file too.
func OSC52(text string) string {
	return "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\a"
}

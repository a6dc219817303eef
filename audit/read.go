package audit

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idcon/idcon/safetext"
)

// Filter selects entries from the log.
type Filter struct {
	// Identity keeps entries whose identity ID or name equals it; empty
	// keeps all.
	Identity string
	// Last keeps only the last N matching entries; 0 keeps all.
	Last int
}

func (f Filter) match(e Entry) bool {
	return f.Identity == "" || e.Identity.ID == f.Identity || e.Identity.Name == f.Identity
}

// Read returns the entries of the log at path that match filter, oldest
// first. A missing file holds no entries. A line that is not an entry is an
// error naming the line, except a torn last line (a write cut short by a
// crash), which is skipped.
func Read(path string, filter Filter) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	return read(f, path, filter)
}

func read(r io.Reader, path string, filter Filter) ([]Entry, error) {
	var out []Entry
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("audit log %s: %w", path, err)
		}
		last := errors.Is(err, io.EOF)
		if strings.TrimSpace(line) != "" {
			var e Entry
			if jerr := json.Unmarshal([]byte(line), &e); jerr != nil {
				if last && !strings.HasSuffix(line, "\n") {
					break // torn final write
				}
				return nil, fmt.Errorf("audit log %s line %d is not an audit entry (%v): the file is damaged or not an audit log", path, n, jerr)
			}
			if filter.match(e) {
				out = append(out, e)
				if filter.Last > 0 && len(out) > 2*filter.Last {
					out = append(out[:0], out[len(out)-filter.Last:]...)
				}
			}
		}
		if last {
			break
		}
	}
	if filter.Last > 0 && len(out) > filter.Last {
		out = out[len(out)-filter.Last:]
	}
	return out, nil
}

// Print writes entries for people (a table whose every field passed through
// safetext) or, with asJSON, as the JSON lines the log holds.
func Print(w io.Writer, entries []Entry, asJSON bool) error {
	if asJSON {
		for _, e := range entries {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if _, err := w.Write(append(safetext.JSON(b), '\n')); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTOR\tVIA\tACTION\tNETWORK/IDENTITY\tRESULT")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			e.Time.UTC().Format(time.RFC3339),
			actorText(e.Actor),
			viaText(e.Actor),
			safetext.Line(e.Action, 20),
			safetext.Line(refText(e.Network), 40)+"/"+safetext.Line(refText(e.Identity), 60),
			safetext.Line(e.Result, 200))
	}
	return tw.Flush()
}

func actorText(a Actor) string {
	s := safetext.Line(a.Name, 40)
	if a.Role != "" {
		s += " (" + safetext.Line(a.Role, 10) + ")"
	}
	return s
}

func viaText(a Actor) string {
	s := safetext.Line(a.Via, 10)
	if a.Fingerprint != "" {
		s += " " + safetext.Line(a.Fingerprint, 60)
	}
	return s
}

// refText prefers the name, falling back to the ID.
func refText(r Ref) string {
	if r.Name != "" {
		return r.Name
	}
	if r.ID != "" {
		return r.ID
	}
	return "-"
}

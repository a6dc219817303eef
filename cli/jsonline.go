package cli

import (
	"encoding/json"
	"io"

	"github.com/idcon/idcon/safetext"
)

// jsonLines writes one JSON value per line, as encoding/json would, but
// with what a terminal would act on (C1 codes, bidi overrides) escaped:
// the tokens of a bulk action go to stdout when no -o is given, and the
// names in them come from the backend.
type jsonLines struct{ w io.Writer }

// Encode writes v and a newline.
func (e jsonLines) Encode(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = e.w.Write(append(safetext.JSON(b), '\n'))
	return err
}

package ui

import (
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// downloadRequestedMsg: the admin asked to write the token to dir.
type downloadRequestedMsg struct {
	dir       string
	overwrite bool
}

// downloadDialog is Download JWT: the folder, editable, then the token
// written there as <safe name>.jwt (0600), never over an existing file
// without the admin's yes, and put on the admin's clipboard.
type downloadDialog struct {
	*fieldDialog
	ident model.Identity
}

func newDownloadDialog(s *session, ident model.Identity) *downloadDialog {
	file := delivery.SafeFileName(ident.Name)
	return &downloadDialog{ident: ident, fieldDialog: newFieldDialog(s, fieldDialogSpec{
		Name:  model.ActionJWT.Title(),
		Title: "Download JWT of " + ident.Name,
		Field: fieldSpec{Label: "Folder", Placeholder: "the current folder", Limit: 4096, Value: s.opts.Downloads,
			Check: func(v string) (string, error) { return expandHome(strings.TrimSpace(v), s.opts.Getenv), nil }},
		Hint: func() string {
			return "Saved as " + safetext.Line(file, 60) + ", readable by you only, and " + s.clipboardWords() + "."
		},
		Request:  func(dir string, again bool) tea.Msg { return downloadRequestedMsg{dir: dir, overwrite: again} },
		Progress: func(string, int) string { return "Saving…" },
		// An existing file becomes the overwrite question, anything else
		// an error under the folder.
		Failed: func(err error) fieldFailure {
			var ex *delivery.ExistsError
			if errors.As(err, &ex) {
				return fieldFailure{state: stateAsk, back: stateEdit,
					ask:      fmt.Sprintf("%s exists in %s: overwrite? y/n", safetext.Clean(ex.Name), safetext.Clean(ex.Dir)),
					declined: "Kept the existing " + file + ": choose another folder, or esc to close."}
			}
			return fieldFailure{text: describeDeliveryErr("Not saved", err), state: stateEdit}
		},
		Breaks: " /", AskAlone: true,
		SubmitHelp: "save", AgainHelp: "overwrite", KeepHelp: "keep it",
	})}
}

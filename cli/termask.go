package cli

import (
	"os"
	"time"

	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"golang.org/x/term"

	"github.com/idcon/idcon/delivery"
)

// qrAskTimeout bounds how long 'enrollment qr' waits for the terminal's
// answers. A terminal answers DA1 at once (a few milliseconds, more over
// SSH); one that never does costs this, then the environment alone decides.
const qrAskTimeout = time.Second

// askTerminal asks the controlling terminal what it draws, as the console
// does when it starts (ui/termcaps.go): XTVERSION, the cell size and DA1,
// then, outside a multiplexer (tmux takes the APC string for a title), the
// kitty graphics query followed by DA1 again. Every terminal answers DA1,
// and answers in order, so DA1's answer ends each round. The terminal is in
// raw mode meanwhile (no echo of the answers) and restored after. Nothing
// is asked when there is no terminal to ask.
func askTerminal(t *delivery.Terminal, timeout time.Duration) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer tty.Close()
	// Through the raw connection: File.Fd would put the descriptor in
	// blocking mode, and the read deadline would no longer hold.
	rc, err := tty.SyscallConn()
	if err != nil {
		return
	}
	var old *term.State
	if cerr := rc.Control(func(fd uintptr) { old, err = term.MakeRaw(int(fd)) }); cerr != nil || err != nil {
		return
	}
	defer func() { _ = rc.Control(func(fd uintptr) { _ = term.Restore(int(fd), old) }) }()

	deadline := time.Now().Add(timeout)
	if !askRound(tty, t, ansi.RequestNameVersion+delivery.CellAndDA1Query, deadline) || t.Mux != "" {
		return
	}
	t.KittyAsked = true
	askRound(tty, t, delivery.KittyQuery+ansi.RequestPrimaryDeviceAttributes, deadline)
}

// askRound writes query and takes the answers into t until DA1's; false
// when the deadline came first.
func askRound(tty *os.File, t *delivery.Terminal, query string, deadline time.Time) bool {
	if _, err := tty.WriteString(query); err != nil {
		return false
	}
	if err := tty.SetReadDeadline(deadline); err != nil {
		return false
	}
	var got []byte
	buf := make([]byte, 1024)
	for len(got) < 64<<10 {
		n, err := tty.Read(buf)
		got = append(got, buf[:n]...)
		// Decoded from the start each time: an answer split across reads
		// is whole once the rest has come.
		for rest := got; len(rest) > 0; {
			var d uv.EventDecoder
			k, ev := d.Decode(rest)
			if k <= 0 {
				break
			}
			rest = rest[k:]
			t.LearnAnswer(ev)
			if _, ok := ev.(uv.PrimaryDeviceAttributesEvent); ok {
				return true
			}
		}
		if err != nil { // the deadline, or the terminal gone
			return false
		}
	}
	return false
}

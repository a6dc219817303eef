package ui

import (
	"math/rand/v2"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// drawnByLipgloss is the frame as stage.draw laid it out before it kept
// the sidebar and joined lines itself: the sidebar and the padded pane
// joined by lipgloss. It is the oracle for draw's layout.
func drawnByLipgloss(st *stage, main, bar string) string {
	mw, mh := st.mainSize()
	side := st.s.styles.Sidebar.Render(fitBlock(st.sidebar(), sidebarWidth-2, mh))
	main = fitBlock(st.breadcrumbs(mw)+"\n"+main, mw, mh)
	main = lipgloss.NewStyle().PaddingLeft(1).Render(main)
	return lipgloss.JoinHorizontal(lipgloss.Top, side, main) + "\n" + bar
}

func TestFrameIsLipglossJoin(t *testing.T) {
	hs, _ := syntheticHarness(t, 1000, 120, 40)
	check := func(what, main string) {
		t.Helper()
		bar := hs.app.helpView()
		want := drawnByLipgloss(hs.app.stage, main, bar)
		for range 2 { // drawn, then with the sidebar kept
			if got := hs.app.stage.frame(main, bar); got != want {
				t.Fatalf("%s: the frame differs from lipgloss's join:\n got:\n%s\nwant:\n%s", what, got, want)
			}
		}
	}
	check("the list", hs.app.top().View())
	hs.press("/")
	hs.typeText("ali")
	check("typing a filter", hs.app.top().View())
	hs.press("esc", "enter")
	check("an identity", hs.app.top().View())
	for _, main := range []string{
		"",
		"one line",
		"a\ttab, which the style widens",
		"a carriage return\r\nand a line",
		"wide: 日本語の名前 " + strings.Repeat("界", 80),
		"\x1b[1mbold\x1b[0m and " + strings.Repeat("long ", 60),
		strings.Repeat("many lines\n", 80),
	} {
		check(strings.ToValidUTF8(main[:min(len(main), 20)], ""), main)
	}
	hs.send(tea.WindowSizeMsg{Width: 90, Height: 25})
	check("resized", hs.app.top().View())
	hs.app.restyle(false)
	check("restyled", hs.app.top().View())
}

func TestCellWidthIsStringWidth(t *testing.T) {
	pieces := []string{"a", "Z", " ", "~", "…", "界", "é", "e\u0301", "\x1b[1m", "\x1b[m", "\x1b[38;5;12m", "\x1b[1;4;4m",
		"\x1b[", "\x1b[1", "\x1b[2K", "\x1b]8;;x\x1b\\", "\x1b[38:2::1:2:3m", "\x1b", "\t", "\n", "\x7f", "\x00", "\u200b", "🙂", "\u0301", "\u200d", "\ufe0f"}
	for _, r := range oneCellMarks {
		pieces = append(pieces, string(r))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		if got, want := cellWidth(s), ansi.StringWidth(s); got != want {
			t.Fatalf("cellWidth(%q) = %d, ansi.StringWidth says %d", s, got, want)
		}
	}
}

package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/idcon/idcon/model"
)

// TestListShowsTheCountComing (issue 27, figure 8): on a backend that
// answers a state's Quick page before its count, the list shows the page
// at once with the total as a lower bound and "counting…", asks the same
// page exactly (once), and then shows the exact total; the poll asks
// exactly too, so the total never drops back to a lower bound.
func TestListShowsTheCountComing(t *testing.T) {
	b := newFakeBackend(testNow)
	var ids []model.Identity
	for i := range 70 { // 60 enrolled, 10 pending
		id := model.Identity{ID: fmt.Sprintf("id-%02d", i), Name: fmt.Sprintf("device-%02d", i), CreatedAt: testNow.Add(-days(9)),
			HasCredential: true, EnrolledAt: testNow.Add(-days(8))}
		if i%7 == 3 {
			id.HasCredential = false
			id.Enrollment = &model.Enrollment{ID: "e", ExpiresAt: testNow.Add(days(3))}
		}
		ids = append(ids, id)
	}
	b.addNetwork(model.Network{ID: "net-big", Name: "Big", Kind: "fake"}, ids...)
	b.countsSlowly = true
	var during string
	hs := newHarness(t, testOptions(b), 100, 30)
	b.beforeExact = func() {
		if during == "" {
			during = flat(hs.app.View().Content)
		}
	}
	hs.press("s") // enrolled
	n := hs.list().pageSize
	if n < 10 || n > 30 {
		t.Fatalf("a page of %d", n)
	}
	if want := fmt.Sprintf("1–%d of %d+ · counting…", n, n); !strings.Contains(during, want) || !strings.Contains(during, "device-00") {
		t.Errorf("while counting, the list shows (want %q):\n%s", want, during)
	}
	after := flat(hs.screen())
	if want := fmt.Sprintf("1–%d of 60", n); !strings.Contains(after, want) || strings.Contains(after, "counting") {
		t.Errorf("counted, the list shows (want %q):\n%s", want, after)
	}
	if want := []string{"quick enrolled 0", "exact enrolled 0"}; len(b.asked) < 2 || !slices.Equal(b.asked[:2], want) {
		t.Errorf("asked %q, want first %q", b.asked, want)
	}
	exact := 0
	for _, a := range b.asked {
		if strings.HasPrefix(a, "exact") {
			exact++
		}
	}
	if exact != 1 {
		t.Errorf("asked exactly %d times (%q), want once", exact, b.asked)
	}
	// The next page (Quick, a lower bound of its end) leaves the exact
	// total.
	hs.press("pgdown")
	if s, want := flat(hs.screen()), fmt.Sprintf("%d–%d of 60", n+1, 2*n); !strings.Contains(s, want) || strings.Contains(s, "counting") {
		t.Errorf("the next page shows (want %q):\n%s", want, s)
	}
	// The poll asks without Quick.
	b.asked = nil
	hs.fireTimers()
	if want := fmt.Sprintf("exact enrolled %d", n); !slices.Contains(b.asked, want) {
		t.Errorf("the poll asked %q, want %q", b.asked, want)
	}
}

// TestListCountThatFailsIsAskedAgain: an exact count that fails (past
// its deadline) shows no error: the list goes on counting and its poll
// asks exactly again, which brings the total.
func TestListCountThatFailsIsAskedAgain(t *testing.T) {
	b := newFakeBackend(testNow)
	var ids []model.Identity
	for i := range 70 {
		ids = append(ids, model.Identity{ID: fmt.Sprintf("id-%02d", i), Name: fmt.Sprintf("device-%02d", i), CreatedAt: testNow.Add(-days(9)),
			HasCredential: true, EnrolledAt: testNow.Add(-days(8))})
	}
	b.addNetwork(model.Network{ID: "net-big", Name: "Big", Kind: "fake"}, ids...)
	b.countsSlowly, b.failExact = true, 1
	hs := newHarness(t, testOptions(b), 100, 30)
	hs.press("s") // enrolled
	n := hs.list().pageSize
	s := flat(hs.screen())
	if want := fmt.Sprintf("1–%d of %d+ · counting…", n, n); !strings.Contains(s, want) || strings.Contains(s, "did not answer") {
		t.Errorf("after a count that failed (want %q, no error):\n%s", want, s)
	}
	hs.fireTimers() // the poll
	if s := flat(hs.screen()); !strings.Contains(s, fmt.Sprintf("1–%d of 70", n)) || strings.Contains(s, "counting") {
		t.Errorf("after the poll:\n%s", s)
	}
}

package ui

import (
	"github.com/idcon/idcon/delivery"
)

// goldenScenes are the screens and dialogs of the first goldens.
func goldenScenes() []goldenScene {
	deliveries := goldenDeliveries
	return []goldenScene{
		{"picker", pickerBackend, func(hs *harness) {}, nil},
		{"picker_refused", pickerBackend, func(hs *harness) { hs.press("down", "enter") }, nil},
		{"list", demoBackend, func(hs *harness) {}, nil},
		{"list_filtered", demoBackend, func(hs *harness) { hs.press("/"); hs.typeText("example"); hs.fireTimers(); hs.press("enter", "s") }, nil},
		{"list_large", func() *fakeBackend { fb := demoBackend(); fb.synthetic = 103482; return fb },
			func(hs *harness) { hs.press("pgdown", "j") }, nil},
		{"edit_enrolled", demoBackend, func(hs *harness) { hs.openByName("laptop-alice") }, nil},
		{"edit_pending", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("tab") }, nil},
		{"edit_expired", demoBackend, func(hs *harness) { hs.openByName("tablet-carol") }, nil},
		{"edit_none", demoBackend, func(hs *harness) { hs.openByName("printer-dave") }, nil},
		{"datepicker_reset", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r") }, nil},
		{"datepicker_reissue", demoBackend, func(hs *harness) { hs.openByName("tablet-carol"); hs.press("i", "pgdown") }, nil},
		{"datepicker_typed", demoBackend, func(hs *harness) {
			hs.openByName("tablet-carol")
			hs.press("i", "2")
			hs.typeText("025-01-01")
			hs.press("enter")
		}, nil},
		{"datepicker_refused", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r", "t", "left", "enter") }, nil},
		{"confirm_reset", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r", "enter") }, nil},
		{"confirm_delete", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("d") }, nil},
		{"toast_reset", demoBackend, func(hs *harness) { hs.openByName("laptop-alice"); hs.press("r", "enter", "y") }, nil},
		{"help_full", demoBackend, func(hs *harness) { hs.press("?") }, nil},
		{"qr", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("c") }, nil},
		{"download", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("j") }, deliveries},
		// A folder that can't be made (the proposed one is made on first use).
		{"download_failed", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("j", "enter") },
			func(o *Options) { deliveries(o); o.Downloads = "/dev/null/downloads" }},
		{"download_overwrite", demoBackend, func(hs *harness) {
			hs.openByName("phone-bob")
			hs.press("j")
			// The answer a write gets when the file is there.
			d := hs.app.dialog.(*downloadDialog)
			d.running(99)
			hs.send(downloadDoneMsg{seq: 99, err: &delivery.ExistsError{Name: "phone-bob.jwt", Dir: "/srv/idcon/downloads"}})
		}, deliveries},
		{"email", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("m") }, deliveries},
		{"email_invalid", demoBackend, func(hs *harness) {
			hs.openByName("phone-bob")
			hs.press("m", "ctrl+u")
			hs.typeText("bob@")
			hs.press("enter")
		}, deliveries},
		{"email_unconfigured", demoBackend, func(hs *harness) { hs.openByName("phone-bob"); hs.press("m") }, nil},
		{"list_by_state", demoBackend, func(hs *harness) { hs.press("o") }, nil},
		{"list_by_sessions", demoBackend, func(hs *harness) { hs.press("o", "o", "o") }, nil},
		{"create", demoBackend, func(hs *harness) {
			hs.press("+")
			hs.typeText("kiosk-7")
			hs.press("tab")
		}, nil},
		{"create_taken", demoBackend, func(hs *harness) {
			hs.press("+")
			hs.typeText("laptop-alice")
			hs.press("tab", "tab")
			hs.typeText("staff, laptops")
			hs.press("enter", "enter")
		}, nil},
		{"create_datepicker", demoBackend, func(hs *harness) {
			hs.press("+")
			hs.typeText("kiosk-7")
			hs.press("enter")
		}, nil},
		{"edit_created", demoBackend, func(hs *harness) {
			hs.press("+")
			hs.typeText("kiosk-7")
			hs.press("tab", "tab")
			hs.typeText("kiosks")
			hs.press("enter", "enter")
		}, nil},
	}
}

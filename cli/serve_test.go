package cli

import (
	"strings"
	"testing"
)

func TestServeRefusesBadOpsFlags(t *testing.T) {
	for args, want := range map[string]string{
		"serve --log-format xml":     `--log-format is json or text, not "xml"`,
		"serve --shutdown-grace -1s": "--shutdown-grace must be a duration",
		"serve --health-listen nope": "--health-listen must be host:port",
	} {
		r := runCLI(t, t.TempDir(), nil, nil, strings.Fields(args)...)
		if r.code == exitOK || !strings.Contains(r.stderr, want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: %d %q; want one line with %q", args, r.code, r.stderr, want)
		}
	}
}

package cli

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestDBPath(t *testing.T) {
	cases := []struct {
		name   string
		db     string
		demo   bool
		env    map[string]string
		want   string
		usage  bool
		failed bool
	}{
		{"default under XDG_DATA_HOME", "", false, map[string]string{"XDG_DATA_HOME": "/x/data", "HOME": "/home/a"}, "/x/data/idcon/idcon.db", false, false},
		{"default under HOME", "", false, map[string]string{"HOME": "/home/a"}, "/home/a/.local/share/idcon/idcon.db", false, false},
		{"relative XDG_DATA_HOME is ignored", "", false, map[string]string{"XDG_DATA_HOME": "data", "HOME": "/home/a"}, "/home/a/.local/share/idcon/idcon.db", false, false},
		{"IDCON_DB", "", false, map[string]string{"IDCON_DB": "/srv/i.db", "HOME": "/home/a"}, "/srv/i.db", false, false},
		{"--db beats IDCON_DB", "/tmp/f.db", false, map[string]string{"IDCON_DB": "/srv/i.db"}, "/tmp/f.db", false, false},
		{"--demo", "", true, map[string]string{"XDG_DATA_HOME": "/x/data"}, "/x/data/idcon/demo.db", false, false},
		{"--demo never uses IDCON_DB", "", true, map[string]string{"IDCON_DB": "/srv/i.db", "HOME": "/home/a"}, "/home/a/.local/share/idcon/demo.db", false, false},
		{"--demo with --db", "/tmp/f.db", true, nil, "", true, false},
		{"nowhere to go", "", false, nil, "", false, true},
	}
	for _, c := range cases {
		a := &app{dbFlag: c.db, demo: c.demo, environment: environment{getenv: func(k string) string { return c.env[k] }}}
		got, err := a.dbPath()
		var u *usageError
		var f *failure
		switch {
		case c.usage:
			if !errors.As(err, &u) {
				t.Errorf("%s: want a usage error, got %q, %v", c.name, got, err)
			}
		case c.failed:
			if !errors.As(err, &f) {
				t.Errorf("%s: want a failure, got %q, %v", c.name, got, err)
			}
		case err != nil || got != filepath.FromSlash(c.want):
			t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

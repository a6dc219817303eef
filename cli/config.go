package cli

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcon/idcon/config"
	"github.com/idcon/idcon/delivery"
)

// loadConfig reads the config file: --config's, which must exist, else the
// default one, which may be missing (idcon works without one). It is read
// by the commands that use it, and to find the database when neither --db
// nor IDCON_DB names it (its database: key).
func (a *app) loadConfig() (config.Config, error) {
	path := a.configFlag
	if path == "" {
		path = a.defaultConfigPath()
		if path == "" {
			return config.Config{}, nil
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return config.Config{}, nil
		}
	}
	c, err := config.Load(path)
	if err != nil {
		return config.Config{}, failf("%s; correct the file, or name another with --config PATH", trimAdvice(err.Error()))
	}
	return c, nil
}

// defaultConfigPath is config.DefaultPath worked out from this run's
// environment rather than the process's, as os.UserConfigDir does on
// Linux: $XDG_CONFIG_HOME (if absolute), else ~/.config. "" means there is
// no home to look in.
func (a *app) defaultConfigPath() string {
	if x := a.getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "idcon", "config.yaml")
	}
	if home := a.getenv("HOME"); home != "" {
		return filepath.Join(home, ".config", "idcon", "config.yaml")
	}
	return ""
}

// smtpSettings is the config file's mail server (the password never lives
// there: it comes with the other IDCON_SMTP_* variables).
func smtpSettings(c config.Config) delivery.SMTPConfig {
	return delivery.SMTPConfig{
		Host:     c.SMTP.Host,
		Port:     c.SMTP.Port,
		TLS:      c.SMTP.TLS,
		Username: c.SMTP.Username,
		From:     c.SMTP.From,
	}
}

// downloadsFolder is where Download JWT saves by default: the config's
// downloads (a leading "~/" is the home folder), else the current folder.
func (a *app) downloadsFolder(c config.Config) string {
	d := strings.TrimSpace(c.Downloads)
	if home := a.getenv("HOME"); home != "" {
		if d == "~" {
			d = home
		} else if rest, ok := strings.CutPrefix(d, "~/"); ok {
			d = filepath.Join(home, rest)
		}
	}
	if d == "" {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
	}
	return d
}

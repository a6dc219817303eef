package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/model"
)

// Figure 10: a bulk reset of labBulkN enrolled identities on the real lab
// controller (ZITI_LAB) by idcon's controller bulk (backend/openziti
// bulk.go: bulkInFlight identities at once), beside the same reset done
// as an admin with the ziti CLI would, one `ziti edge` command at a time.
// Taken only when ZITI_LAB is set and the lab answers.

// labBulkN is how many identities figure 10 resets with idcon.
const labBulkN = 1000

// labCLISample is how many of them the ziti CLI resets; its time is
// scaled to labBulkN (each identity takes the same three commands).
const labCLISample = 50

const labBulkMethod = `
### 10. Bulk reset on the real controller

Only when ZITI_LAB names a running lab (../shared/lab/build.sh's v2.0.3 controller). The bench makes
1,000 identities named pf-ctl-bulk-NNNNN, each enrolled with a certificate through the client API, and
resets them all with idcon's controller bulk (` + "`BulkApply`" + `, backend/openziti/bulk.go: 4 identities at once,
each the seven steps of ResetEnrollment, slowed by 429 and 503 pushback); the figure is its wall time.
Baseline: the same reset of 50 more identities (pf-ctl-cli-NNNNN) by the ziti CLI of the lab, one command
at a time as an admin would script it (` + "`ziti edge list authenticators 'identity=\"ID\"' -j`" + `,
` + "`ziti edge delete authenticator -- ID`" + `, ` + "`ziti edge create enrollment ott -d 2880 -- ID`" + `, logged in once beforehand
with a private ZITI_CONFIG_DIR), scaled to 1,000. The target is a tenth of the baseline: idcon at 10× the
ziti CLI's rate or more. Every identity made is deleted afterwards.
`

func init() {
	whyMissed["10"] = "idcon's bulk reset takes seven requests an identity (the controller's own re-enroll, the other " +
		"authenticators, revocation, sessions, a final check), the ziti CLI three commands."
}

// labBulk is figure 10, or ok false (and why) without a lab.
func (r *runner) labBulk() (out row, ok bool, err error) {
	if r.cfg.Quick {
		r.logf("lab: figure 10 not taken: -quick (it makes 1,050 identities on the lab)")
		return out, false, nil
	}
	l, ok, why := findLab()
	if !ok {
		r.logf("lab: figure 10 not taken: %s", why)
		return out, false, nil
	}
	ctx := r.ctx
	c, err := dialLab(ctx, l)
	if err != nil {
		return out, false, err
	}
	defer c.close()
	if n, err := c.cleanLab(ctx); err != nil {
		return out, false, err
	} else if n > 0 {
		r.logf("lab: deleted %d identities a stopped run left", n)
	}
	defer func() {
		n, err := c.cleanLab(context.WithoutCancel(ctx))
		r.logf("lab: deleted the %d identities made (%v)", n, err)
	}()
	t0 := time.Now()
	if _, err := c.seedLab(ctx, "bulk-", labBulkN, labBulkN); err != nil {
		return out, false, err
	}
	cli, err := c.seedLab(ctx, "cli-", labCLISample, labCLISample)
	if err != nil {
		return out, false, err
	}
	r.logf("lab: made %d + %d enrolled identities in %.1f s", labBulkN, labCLISample, time.Since(t0).Seconds())

	ours, done, err := r.labBulkIdcon(ctx, l)
	if err != nil {
		return out, false, err
	}
	r.logf("lab: idcon's bulk reset %d in %.1f s", done, ours)
	if done != labBulkN {
		return out, false, fmt.Errorf("lab: idcon's bulk reset %d of %d", done, labBulkN)
	}
	if err := c.checkReset(ctx, "bulk-", labBulkN); err != nil {
		return out, false, err
	}
	per, err := r.labBulkCLI(ctx, l, cli)
	if err != nil {
		return out, false, err
	}
	if err := c.checkReset(ctx, "cli-", labCLISample); err != nil {
		return out, false, err
	}
	base := per.Seconds() * labBulkN
	r.logf("lab: idcon %d resets in %.1f s (%.1f a second); ziti CLI %.0f ms an identity (%d sampled): %.0f s for %d, ×%.1f",
		done, ours, float64(done)/ours, per.Seconds()*1000, labCLISample, base, labBulkN, base/ours)
	out = row{id: "10", figure: fmt.Sprintf("Bulk reset of %s enrolled identities on the lab controller (v2.0.3)", fmtCount(labBulkN)),
		unit: unitTime, ours: ours, base: base,
		oursNote: fmt.Sprintf("%.0f a second, ×%.1f the ziti CLI's rate", float64(done)/ours, base/ours),
		baseNote: fmt.Sprintf("ziti CLI, one command at a time: %.0f ms an identity, %d sampled, scaled to %s", per.Seconds()*1000, labCLISample, fmtCount(labBulkN)),
		target:   base / 10}
	return out, true, nil
}

// labBulkIdcon resets every pf-ctl-bulk- identity with idcon's controller
// bulk and returns its wall time and how many were reset.
func (r *runner) labBulkIdcon(ctx context.Context, l labAddr) (float64, int, error) {
	ca, err := os.ReadFile(l.caFile)
	if err != nil {
		return 0, 0, err
	}
	c, err := openziti.New(openziti.Config{Name: "bench-lab", Controller: l.url, PinnedCA: ca,
		Username: l.user, Password: l.password, Timeout: time.Minute})
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1}); err != nil { // the login, outside the figure
		return 0, 0, err
	}
	done := 0
	var failed []string
	t0 := time.Now()
	err = c.BulkApply(ctx, c.NetworkID(), backend.Selection{All: true, Filter: labPrefix + "bulk-"}, model.ActionReset, time.Now().Add(48*time.Hour),
		func(res backend.BulkResult) bool {
			if res.Err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", res.Identity.Name, res.Err))
			} else {
				done++
			}
			return true
		})
	secs := time.Since(t0).Seconds()
	if err != nil {
		return 0, 0, err
	}
	if len(failed) > 0 {
		return 0, 0, fmt.Errorf("lab: %d resets failed, the first: %s", len(failed), failed[0])
	}
	return secs, done, nil
}

// labBulkCLI resets the identities ids with the lab's ziti CLI, one
// command at a time, and returns the time an identity took.
func (r *runner) labBulkCLI(ctx context.Context, l labAddr, ids []string) (time.Duration, error) {
	dir, err := os.MkdirTemp(r.dir, "ziti-cli-")
	if err != nil {
		return 0, err
	}
	env := append(os.Environ(), "ZITI_CONFIG_DIR="+dir, "HOME="+dir)
	ziti := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, l.ziti, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return out, fmt.Errorf("ziti %s: %v: %.300s", strings.Join(args, " "), err, out)
		}
		return out, nil
	}
	if _, err := ziti("edge", "login", l.url, "-u", l.user, "-p", l.password, "--ca", l.caFile); err != nil {
		return 0, err
	}
	t0 := time.Now()
	for _, id := range ids {
		out, err := ziti("edge", "list", "authenticators", fmt.Sprintf(`identity="%s"`, id), "-j")
		if err != nil {
			return 0, err
		}
		var list struct {
			Data []struct{ ID string } `json:"data"`
		}
		if err := json.Unmarshal(out[strings.IndexByte(string(out), '{'):], &list); err != nil {
			return 0, fmt.Errorf("ziti edge list authenticators: %v", err)
		}
		for _, a := range list.Data {
			if _, err := ziti("edge", "delete", "authenticator", "--", a.ID); err != nil {
				return 0, err
			}
		}
		// "--": an id may start with "-".
		if _, err := ziti("edge", "create", "enrollment", "ott", "-d", "2880", "--", id); err != nil {
			return 0, err
		}
	}
	return time.Since(t0) / time.Duration(len(ids)), nil
}

// checkReset says whether the n identities labPrefix+tag… are as a reset
// leaves them: a one-time token each and no authenticator.
func (c *labConn) checkReset(ctx context.Context, tag string, n int) error {
	seen, bad := 0, 0
	for off := 0; ; off += 500 {
		var page struct {
			Data []struct {
				Name       string `json:"name"`
				Enrollment struct {
					OTT *struct{ ID string } `json:"ott"`
				} `json:"enrollment"`
				Authenticators struct {
					Cert *struct{ ID string } `json:"cert"`
				} `json:"authenticators"`
			} `json:"data"`
		}
		q := map[string][]string{"filter": {`name contains "` + labPrefix + tag + `" sort by id asc`}, "limit": {"500"}, "offset": {fmt.Sprint(off)}}
		if _, err := c.get(ctx, "/identities", q, &page); err != nil {
			return err
		}
		for _, d := range page.Data {
			seen++
			if d.Enrollment.OTT == nil || d.Authenticators.Cert != nil {
				bad++
			}
		}
		if len(page.Data) < 500 {
			break
		}
	}
	if seen != n || bad > 0 {
		return fmt.Errorf("lab: of the %d %s%s identities, %d found, %d not as a reset leaves them", n, labPrefix, tag, seen, bad)
	}
	return nil
}

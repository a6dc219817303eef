// Package zitilab finds the real OpenZiti v2.0.3 lab that
// ../shared/lab/build.sh (one controller) and ../shared/lab/ha.sh (a
// three-node HA cluster) lay out, for the tests that drive it under
// `make test-lab`. Every such test is named TestLab…; without a lab it
// skips, saying what to set.
package zitilab

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Lab is the single-node lab of build.sh.
type Lab struct {
	Dir      string // $ZITI_LAB
	URL      string // https://127.0.0.1:1280
	CAFile   string // the quickstart's root CA
	Ziti     string // the lab's ziti binary
	Username string
	Password string
}

// Require returns the lab named by ZITI_LAB, or skips the test saying why.
func Require(t testing.TB) Lab {
	t.Helper()
	dir := os.Getenv("ZITI_LAB")
	if dir == "" {
		t.Skip("ZITI_LAB is not set: build the lab with ../shared/lab/build.sh and run make test-lab ZITI_LAB=<its LAB folder>")
	}
	l := Lab{
		Dir:      dir,
		URL:      "https://127.0.0.1:1280",
		CAFile:   filepath.Join(dir, "qs", "pki", "root-ca", "certs", "root-ca.cert"),
		Ziti:     filepath.Join(dir, "bin", "ziti"),
		Username: "admin",
		Password: "admin123",
	}
	if _, err := os.Stat(l.Ziti); err != nil {
		t.Skipf("ZITI_LAB=%s holds no bin/ziti: run ../shared/lab/build.sh with LAB=%s", dir, dir)
	}
	if !Answers(l.URL) {
		t.Skipf("the lab controller at %s doesn't answer: run %s", l.URL, filepath.Join(dir, "start-ctrl.sh"))
	}
	return l
}

// Node is one controller of the HA cluster.
type Node struct {
	Name    string // ctrl1, ctrl2, ctrl3
	URL     string // https://127.0.0.1:2281 …
	PidFile string
}

// Cluster is the three-node cluster of ha.sh.
type Cluster struct {
	Dir      string // $ZITI_HA
	Script   string // ha.sh
	Lab      string // $ZITI_LAB, whose bin/ziti the nodes run
	Nodes    []Node
	Username string
	Password string
}

// RequireCluster returns the cluster named by ZITI_HA (set up with
// `ha.sh setup`), or skips the test saying why.
func RequireCluster(t testing.TB) Cluster {
	t.Helper()
	lab, dir := os.Getenv("ZITI_LAB"), os.Getenv("ZITI_HA")
	if lab == "" || dir == "" {
		t.Skip("ZITI_LAB and ZITI_HA are not both set: set up the cluster with LAB=<lab> HA=<folder> ../shared/lab/ha.sh setup and run make test-lab ZITI_LAB=<lab> ZITI_HA=<folder>")
	}
	script := os.Getenv("ZITI_HA_SCRIPT")
	if script == "" {
		script = findUp("shared/lab/ha.sh")
	}
	if script == "" {
		t.Skip("ha.sh not found above the working directory: set ZITI_HA_SCRIPT to it")
	}
	c := Cluster{Dir: dir, Script: script, Lab: lab, Username: "admin", Password: "admin123"}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("ctrl%d", i)
		c.Nodes = append(c.Nodes, Node{Name: name, URL: fmt.Sprintf("https://127.0.0.1:228%d", i), PidFile: filepath.Join(dir, name+".pid")})
	}
	for _, n := range c.Nodes {
		if !Answers(n.URL) {
			t.Skipf("cluster node %s at %s doesn't answer: run LAB=%s HA=%s %s start", n.Name, n.URL, lab, dir, script)
		}
	}
	return c
}

// Answers says whether a controller answers /version at url within 3 s.
// It skips certificate checks: it only asks whether something listens.
func Answers(url string) bool {
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // liveness probe only
	resp, err := hc.Get(url + "/edge/management/v1/version")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// findUp looks for rel in the working directory and each parent, and in
// their shared/ siblings (the repository sits beside ../shared).
func findUp(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		for _, p := range []string{filepath.Join(dir, rel), filepath.Join(dir, "..", rel)} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

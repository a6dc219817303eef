package packaging

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// engine is docker or podman with an engine that answers, or the reason
// there is none.
func engine(t *testing.T) string {
	t.Helper()
	var why []string
	for _, name := range []string{"docker", "podman"} {
		path, err := exec.LookPath(name)
		if err != nil {
			why = append(why, name+" is not installed")
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = exec.CommandContext(ctx, path, "info").Run()
		cancel()
		if err != nil {
			why = append(why, name+" has no engine to talk to ("+name+" info: "+err.Error()+")")
			continue
		}
		return path
	}
	t.Skipf("no container engine: %s", strings.Join(why, "; "))
	return ""
}

// TestDockerImage builds the Dockerfile and checks the image: it runs as
// nonroot, declares the state and config volumes and a HEALTHCHECK, and
// its binary (static, on distroless) prints its version.
func TestDockerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image")
	}
	bin := engine(t)
	tag := "idcon-test:packaging"
	build := exec.Command(bin, "build", "--build-arg", "VERSION=v0.0.0-image", "-t", tag, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s build: %v\n%s", bin, err, out)
	}
	t.Cleanup(func() { _ = exec.Command(bin, "rmi", "-f", tag).Run() })
	out, err := exec.Command(bin, "image", "inspect", tag).Output()
	if err != nil {
		t.Fatal(err)
	}
	var images []struct {
		Config struct {
			User        string
			Volumes     map[string]struct{}
			Healthcheck *struct{ Test []string }
			Entrypoint  []string
		}
	}
	if err := json.Unmarshal(out, &images); err != nil || len(images) != 1 {
		t.Fatalf("image inspect: %v %s", err, out)
	}
	c := images[0].Config
	if c.User == "" || strings.HasPrefix(c.User, "root") || strings.HasPrefix(c.User, "0") {
		t.Errorf("the image runs as %q, want nonroot", c.User)
	}
	for _, v := range []string{"/var/lib/idcon", "/etc/idcon"} {
		if _, ok := c.Volumes[v]; !ok {
			t.Errorf("no volume %s: %v", v, c.Volumes)
		}
	}
	if c.Healthcheck == nil || !strings.Contains(strings.Join(c.Healthcheck.Test, " "), "idcon health") {
		t.Errorf("HEALTHCHECK: %+v", c.Healthcheck)
	}
	out, err = exec.Command(bin, "run", "--rm", "--entrypoint", "/usr/bin/idcon", tag, "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "idcon version v0.0.0-image") {
		t.Errorf("idcon --version in the image: %v %s", err, out)
	}
}

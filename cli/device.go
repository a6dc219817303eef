package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/safetext"
)

// The device side: what a user's device does with a token, for networks
// served by the embedded authority, so that an admin can try the whole
// lifecycle (and see a reset drop a live session) without a real overlay.
const (
	// maxTokenFile bounds what enroll reads: a token is well under 1 KiB.
	maxTokenFile = 64 << 10
	// heartbeatEvery is how often connect tells the network it is alive,
	// and so how quickly it notices a reset.
	heartbeatEvery = 500 * time.Millisecond
	// heartbeatPatience is how long connect tolerates failing heartbeats
	// (a busy database) before it gives up.
	heartbeatPatience = 3 * time.Second
)

func (a *app) enrollCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "enroll FILE.jwt --out DIR",
		Short: "Enroll as a device would, with a token file (embedded networks)",
		Long: `Use an enrollment token as a user's device would: the token is checked
and spent, and the identity's certificate and the network's CA are saved in
DIR. A token works once.`,
		Example: "  idcon enroll laptop-alice.jwt --out ./alice",
		Args:    exactArgs("FILE.jwt"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag(cmd, "out", "./device"); err != nil {
				return err
			}
			jwt, err := readTokenFile(args[0])
			if err != nil {
				return ran(err)
			}
			return a.do(commandTimeout, func(ctx context.Context, s *embedded.Store) error {
				e, err := embedded.EnrollToDir(ctx, s, jwt, out)
				if errors.Is(err, embedded.ErrNotAToken) {
					return withAdvice(err, "check that you gave the .jwt file you were sent, or ask the network's administrator for the current token")
				}
				if err != nil {
					return err // written for the device's user: what is wrong and whom to ask
				}
				_, err = fmt.Fprintf(a.stdout, "enrolled %s in network %s; its certificate is in %s; connect with %s\n",
					displayName(e.IdentityName), displayName(e.NetworkName), safetext.Clean(out), a.hint("connect", "--identity", out))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the folder for the certificate and CA (required)")
	return cmd
}

// readTokenFile reads a .jwt file, refusing what can't be a token before
// anything is sent to the backend.
func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", failf("can't read the token file %s: %s; give the path of the .jwt file you were sent", path, pathErr(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return "", failf("can't read the token file %s: %s; give the path of the .jwt file you were sent", path, pathErr(err))
	}
	if len(b) > maxTokenFile {
		return "", failf("%s is too big to be an enrollment token; give the .jwt file you were sent", path)
	}
	jwt := strings.TrimSpace(string(b))
	if jwt == "" {
		return "", failf("%s is empty; give the .jwt file you were sent", path)
	}
	return jwt, nil
}

func (a *app) connectCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "connect --identity DIR",
		Short: "Hold a session as an enrolled device until interrupted (embedded networks)",
		Long: `Connect as the identity enrolled into DIR and hold the session, as a
device on the network would, until Ctrl-C (or SIGTERM) disconnects it.

When the identity's enrollment is reset, the session drops: connect says
so on stderr and exits with code 1.`,
		Example: "  idcon connect --identity ./alice",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag(cmd, "identity", "./device"); err != nil {
				return err
			}
			return a.do(0, func(ctx context.Context, s *embedded.Store) error {
				sigCtx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
				defer stop()
				cctx, cancel := context.WithTimeout(sigCtx, commandTimeout)
				sess, err := s.Connect(cctx, dir)
				cancel()
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "connected as %s (session %s); press Ctrl-C to disconnect\n",
					displayName(sess.Identity.Name), safetext.Clean(sess.ID))
				return a.holdSession(sigCtx, s, sess)
			})
		},
	}
	cmd.Flags().StringVar(&dir, "identity", "", "the folder enroll saved the identity in (required)")
	return cmd
}

// holdSession heartbeats until ctx ends (then it disconnects) or the
// session is dropped.
func (a *app) holdSession(ctx context.Context, s *embedded.Store, sess embedded.Session) error {
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	var failingSince time.Time
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Disconnect(dctx, sess.ID); err != nil && !errors.Is(err, embedded.ErrSessionDropped) {
				return err
			}
			fmt.Fprintln(a.stdout, "disconnected")
			return nil
		case <-tick.C:
		}
		hctx, cancel := context.WithTimeout(ctx, heartbeatEvery*3)
		err := s.Heartbeat(hctx, sess.ID)
		cancel()
		switch {
		case err == nil:
			failingSince = time.Time{}
		case errors.Is(err, embedded.ErrSessionDropped):
			fmt.Fprintf(a.stderr, "connection dropped: the enrollment of %s was reset\n", displayName(sess.Identity.Name))
			return errReported
		case ctx.Err() != nil:
			// Interrupted during the heartbeat: the next loop disconnects.
		case failingSince.IsZero():
			failingSince = time.Now()
		case time.Since(failingSince) > heartbeatPatience:
			return fmt.Errorf("lost the session: %w", err)
		}
	}
}

package embedded

import (
	"context"
	"database/sql"
	"os"
	"sync"

	"github.com/idcon/idcon/backend/embedded/walvfs"
)

// walKeeper takes the write-ahead log's upkeep off a bulk run's writer,
// onto the other cores: the log's syncs, and most of the copying of its
// frames back into the database (the checkpoints).
//
// The writer's own commits would checkpoint (wal_autocheckpoint) each
// time the log passed bulkCheckpoint pages: a quarter of the run's
// pages copied back, and the log and then the database synced, every few
// batches, while the next batch waited. Instead, once the log has grown
// by that much, a checkpoint runs on a connection of its own beside the
// writer's next batch, and syncs the file it writes there. It can copy
// only what was committed when it began, so the writer, before its next
// batch, copies the rest (one batch's frames, a few thousand pages): the
// log is then wholly in the database, and SQLite starts it over at its
// beginning with the next batch, as an ordinary checkpoint leaves it.
//
// Between checkpoints, each commit's frames are synced in the background
// (the log's file, opened read-only: SQLite locks the database and its
// shared-memory index, never the log, so this descriptor's close can't
// drop a lock), so that the checkpoint's own sync of the log finds little
// left to write.
//
// It needs walvfs, which tells where the log's frames end; without it the
// writer checkpoints as SQLite does (autoCheckpoint).
type walKeeper struct {
	wal   string
	limit int64 // bytes of log a cycle lets the writer add before the background checkpoint
	conn  *sql.Conn

	mu      sync.Mutex
	running chan struct{} // the background checkpoint, closed when it ends; nil when none runs (mu)
	base    int64         // where the log ended when the last cycle's checkpoint was finished (the writer's)
	last    int64         // where it ended after the last batch (the writer's)

	syncs chan struct{} // a request to sync the log
}

// autoCheckpoint is the bulk connection's wal_autocheckpoint: SQLite's
// own checkpoint in the writer's commits, or none when k does them.
func (k *walKeeper) autoCheckpoint() int {
	if k == nil {
		return bulkCheckpoint
	}
	return 0
}

// newWalKeeper starts the log's upkeep for a bulk run, or returns nil when
// the store's connections don't go through walvfs.
func (s *Store) newWalKeeper(ctx context.Context) *walKeeper {
	if walvfs.Register() != nil || s.unjournaled {
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil
	}
	k := &walKeeper{wal: s.path + "-wal", limit: bulkCheckpoint * (4096 + 24), conn: conn,
		syncs: make(chan struct{}, 1)}
	if s.bulkLogLimit > 0 {
		k.limit = s.bulkLogLimit
	}
	k.base = walvfs.LogEnd(k.wal)
	k.last = k.base
	s.upkeep.Go(k.syncLoop)
	return k
}

// syncLoop syncs the log each time a commit asks, and a request made while
// a sync runs waits for the next one.
func (k *walKeeper) syncLoop() {
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for range k.syncs {
		if f == nil {
			var err error
			if f, err = os.Open(k.wal); err != nil {
				continue // no log yet, or gone: SQLite's own syncs still run
			}
		}
		f.Sync() //nolint:errcheck // ahead of SQLite's own sync, which reports
	}
}

// committed is called after each batch's commit: it asks for the log to
// be synced, and starts the background checkpoint once the log has grown
// by limit since the last one.
func (k *walKeeper) committed() {
	if k == nil {
		return
	}
	select {
	case k.syncs <- struct{}{}:
	default:
	}
	end := walvfs.LogEnd(k.wal)
	if end < k.last {
		k.base = 0 // SQLite started the log over
	}
	k.last = end
	if end-k.base >= k.limit {
		k.checkpoint()
	}
}

// ending is called once the batch being written is known to be the last:
// the log is copied back beside it, so that the run's end (forgetRetired)
// copies only that batch's frames.
func (k *walKeeper) ending() {
	if k != nil {
		k.checkpoint()
	}
}

// checkpoint starts the background checkpoint, unless one runs.
func (k *walKeeper) checkpoint() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.running != nil {
		return
	}
	done := make(chan struct{})
	k.running = done
	go func() {
		defer close(done)
		k.conn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`) //nolint:errcheck // the writer's catch-up and the run's end copy what this doesn't
	}()
}

// finished says whether a background checkpoint ran and has ended (wait:
// once it ends), and forgets it then.
func (k *walKeeper) finished(wait bool) bool {
	k.mu.Lock()
	r := k.running
	k.mu.Unlock()
	if r == nil {
		return false
	}
	if wait {
		<-r
	} else {
		select {
		case <-r:
		default:
			return false
		}
	}
	k.mu.Lock()
	k.running = nil
	k.mu.Unlock()
	return true
}

// beforeBatch is called before each batch's transaction: once the
// background checkpoint has ended, the writer copies what was committed
// after it began, so that the log starts over with this batch.
func (k *walKeeper) beforeBatch(ctx context.Context, conn bulkConn) {
	if k == nil || !k.finished(false) {
		return // none ran, or still copying: the writer goes on, the log grows a batch more
	}
	conn.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`) //nolint:errcheck // as SQLite's own autocheckpoint, best effort
	k.base = walvfs.LogEnd(k.wal)
	k.last = k.base
}

// stop waits for the background checkpoint to end, and stops the syncs.
func (k *walKeeper) stop() {
	if k == nil {
		return
	}
	k.finished(true)
	close(k.syncs) // a sync under way ends on its own (Close waits for it)
	k.conn.Close()
}

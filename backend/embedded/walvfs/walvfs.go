// Package walvfs makes SQLite (modernc.org/sqlite, the pure-Go build)
// write a commit's WAL frames in a few large writes instead of two
// system calls a page.
//
// SQLite appends each frame of a commit to the write-ahead log with two
// pwrite calls, its 24-byte header and then its page, so a bulk commit
// of 8,000 pages makes 16,000 system calls; on a virtual machine each
// costs microseconds. Register installs, as the VFS named Name, a thin layer
// over SQLite's own unix VFS that changes only the WAL files it opens:
// frames appended at the end of the log are gathered in a buffer and
// written together, and the buffer is written out, its error returned to
// SQLite, by the very write that completes a commit frame. Everything
// else (the database file, journals, locks, the shared-memory index) is
// the unix VFS's own.
//
// Why that is safe: SQLite makes a commit visible (the WAL-index header
// that readers, in this process or another, go by) only after walFrames
// has written every frame of it, and the last frame it writes is the
// commit frame (the one whose header carries the database size). So by
// the time anyone may read a frame, it is in the file, exactly as
// without this layer. A frame SQLite writes before the commit (a page
// cache spill) is not visible to other connections until then, and this
// connection's own reads, syncs, truncations and size checks of the log
// write the buffer out first. A write anywhere but the end of the log
// (SQLite rewrites a spilled frame in place, or its checksums, within
// the transaction) is written through at once, after the buffer. A
// crash loses at most frames of a commit that had not yet completed,
// which SQLite's recovery already discards as an incomplete tail.
package walvfs

import (
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// bufSize is how much of the log a file gathers before writing it out:
// the unix VFS writes at most 128 KB - 1 a call (seekAndWriteFd masks
// the count with 0x1ffff), so a little under that, about 30 frames of
// 4 KB pages.
const bufSize = 120 << 10

const (
	walFrameHeader = 24 // a frame's header: page number, database size (nonzero on a commit frame), salts, checksums
	walHeader      = 32 // the log's own header, at offset 0
)

// SQLite's result codes used here.
const (
	sqliteOK      = 0
	sqliteIOErr   = 10
	ioErrWrite    = sqliteIOErr | 3<<8
	openWAL       = sqlite3.SQLITE_OPEN_WAL
	vfsName       = "idcon-wal"
	methodsVerMin = 1
)

var (
	once     sync.Once
	register error

	base    uintptr // the unix VFS (sqlite3_vfs *)
	mu      sync.Mutex
	files   = map[uintptr]*walFile{}     // the open WAL files, by sqlite3_file *
	ends    = map[string]*atomic.Int64{} // each log's end, by path (LogEnd)
	methods = map[uintptr]uintptr{}      // the layer's io methods, by the unix VFS's they wrap
)

// walFile is a WAL file's gathered frames. Only the connection that owns
// the file uses it (SQLite serializes a connection's calls).
type walFile struct {
	logEnd *atomic.Int64 // its path's, shared with the other connections' files of it
	orig   uintptr       // the unix VFS's io methods for it
	buf    uintptr       // bufSize bytes of C memory
	n      int64         // bytes gathered
	off    int64         // where buf[0] goes in the file
	end    int64         // the end of what has been written or gathered: appends start there
	commit bool          // the last write gathered was a commit frame's header: its page ends the commit
}

// Name is the VFS's name, for a connection's URI (file:PATH?vfs=NAME).
const Name = vfsName

// Register registers the layer with SQLite, once, under Name; a
// connection opened with it uses it, and shares the unix VFS's files and
// locks with every other connection.
func Register() error {
	once.Do(func() { register = install() })
	return register
}

func install() error {
	tls := libc.NewTLS()
	defer tls.Close()
	if rc := sqlite3.Xsqlite3_initialize(tls); rc != sqliteOK {
		return errors.New("walvfs: sqlite3_initialize failed")
	}
	base = sqlite3.Xsqlite3_vfs_find(tls, 0)
	if base == 0 {
		return errors.New("walvfs: SQLite has no default VFS")
	}
	// SQLite's structures live in C memory (the allocator's, outside the
	// Go heap), where the transpiled C may do its pointer arithmetic.
	pv := libc.Xcalloc(tls, 1, uint64(unsafe.Sizeof(sqlite3.Tsqlite3_vfs{})))
	if pv == 0 {
		return errors.New("walvfs: out of memory")
	}
	v := (*sqlite3.Tsqlite3_vfs)(ptr(pv))
	*v = *(*sqlite3.Tsqlite3_vfs)(ptr(base))
	v.FpNext = 0
	name, err := libc.CString(vfsName)
	if err != nil {
		return err
	}
	v.FzName = name
	v.FxOpen = funcPtr(xOpen)
	if rc := sqlite3.Xsqlite3_vfs_register(tls, pv, 0); rc != sqliteOK {
		return errors.New("walvfs: sqlite3_vfs_register failed")
	}
	return nil
}

// xOpen opens the file with the unix VFS and, for a WAL file, puts this
// layer's methods in front of the unix VFS's.
func xOpen(tls *libc.TLS, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	rc := callOpen(tls, (*sqlite3.Tsqlite3_vfs)(ptr(base)).FxOpen, base, zName, pFile, flags, pOutFlags)
	if rc != sqliteOK || flags&openWAL == 0 {
		return rc
	}
	f := (*sqlite3.Tsqlite3_file)(ptr(pFile))
	if f.FpMethods == 0 {
		return rc
	}
	m := wrapped(tls, f.FpMethods)
	if m == 0 {
		return rc
	}
	buf := libc.Xmalloc(tls, bufSize)
	if buf == 0 {
		return rc // without the layer: still correct, only slower
	}
	path := libc.GoString(zName)
	mu.Lock()
	e := ends[path]
	if e == nil {
		e = new(atomic.Int64)
		ends[path] = e
	}
	files[pFile] = &walFile{logEnd: e, orig: f.FpMethods, buf: buf, end: -1}
	mu.Unlock()
	f.FpMethods = m
	return rc
}

// wrapped is the layer's copy of orig, the unix VFS's io methods, with
// its own read, write, truncate, sync, size and close, in C memory.
func wrapped(tls *libc.TLS, orig uintptr) uintptr {
	mu.Lock()
	defer mu.Unlock()
	if m, ok := methods[orig]; ok {
		return m
	}
	o := (*sqlite3.Tsqlite3_io_methods)(ptr(orig))
	if o.FiVersion < methodsVerMin {
		return 0
	}
	pm := libc.Xcalloc(tls, 1, uint64(unsafe.Sizeof(sqlite3.Tsqlite3_io_methods{})))
	if pm == 0 {
		return 0
	}
	m := (*sqlite3.Tsqlite3_io_methods)(ptr(pm))
	*m = *o
	m.FxClose = funcPtr(xClose)
	m.FxRead = funcPtr(xRead)
	m.FxWrite = funcPtr(xWrite)
	m.FxTruncate = funcPtr(xTruncate)
	m.FxSync = funcPtr(xSync)
	m.FxFileSize = funcPtr(xFileSize)
	methods[orig] = pm
	return pm
}

// LogEnd is where a connection of this process last wrote the log at
// walPath (the database's path and "-wal"): the end of the frames in
// use, in bytes, as far as this process wrote them; 0 if it never wrote
// them. SQLite starts the log over at its beginning after a complete
// checkpoint, and LogEnd with it.
func LogEnd(walPath string) int64 {
	mu.Lock()
	e := ends[walPath]
	mu.Unlock()
	if e == nil {
		return 0
	}
	return e.Load()
}

// setEnd records where the log's writes end now.
func (f *walFile) setEnd(end int64) {
	f.end = end
	if end >= 0 {
		f.logEnd.Store(end)
	}
}

func lookup(pFile uintptr) *walFile {
	mu.Lock()
	f := files[pFile]
	mu.Unlock()
	return f
}

func origMethods(f *walFile) *sqlite3.Tsqlite3_io_methods {
	return (*sqlite3.Tsqlite3_io_methods)(ptr(f.orig))
}

// flush writes out what f has gathered. On an error what was gathered
// is dropped: it lies past every commit SQLite has made visible, and
// SQLite, told of the error, rolls the transaction back.
func (f *walFile) flush(tls *libc.TLS, pFile uintptr) int32 {
	if f.n == 0 {
		return sqliteOK
	}
	n, off := f.n, f.off
	f.n = 0
	return callRW(tls, origMethods(f).FxWrite, pFile, f.buf, int32(n), off)
}

func xWrite(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	f := lookup(pFile)
	if f == nil {
		return ioErrWrite
	}
	// The write before was a commit frame's header: this is its page, the
	// last of the commit, and the buffer is written out with it.
	endsCommit := f.commit
	f.commit = false
	if off == 0 && amt == walHeader {
		f.setEnd(0) // the log starts over: its header, then frames from the start
	}
	gathered := f.n > 0 && off == f.off+f.n
	appending := f.n == 0 && f.end >= 0 && off == f.end && (amt == walHeader || amt == walFrameHeader)
	if !gathered && !appending {
		// Anywhere else (a frame rewritten in place, its checksums, the
		// first write after opening): the buffer first, then this as is.
		if rc := f.flush(tls, pFile); rc != sqliteOK {
			return rc
		}
		rc := callRW(tls, origMethods(f).FxWrite, pFile, pBuf, amt, off)
		if rc == sqliteOK && off+int64(amt) > f.end {
			f.setEnd(off + int64(amt))
		}
		return rc
	}
	if f.n+int64(amt) > bufSize {
		if rc := f.flush(tls, pFile); rc != sqliteOK {
			return rc
		}
		if int64(amt) > bufSize {
			rc := callRW(tls, origMethods(f).FxWrite, pFile, pBuf, amt, off)
			if rc == sqliteOK {
				f.setEnd(off + int64(amt))
			}
			return rc
		}
	}
	if f.n == 0 {
		f.off = off
	}
	libc.Xmemcpy(tls, f.buf+uintptr(f.n), pBuf, uint64(amt))
	f.n += int64(amt)
	f.setEnd(off + int64(amt))
	if amt == walFrameHeader {
		hdr := (*[walFrameHeader]byte)(ptr(pBuf))
		f.commit = binary.BigEndian.Uint32(hdr[4:8]) != 0
	}
	if endsCommit {
		rc := f.flush(tls, pFile)
		if rc != sqliteOK {
			f.end = -1 // where the log ends is SQLite's to say again
		}
		return rc
	}
	return sqliteOK
}

// flushed is pFile's state with what it gathered written out, or the
// error code of the write.
func flushed(tls *libc.TLS, pFile uintptr) (*walFile, int32) {
	f := lookup(pFile)
	if f == nil {
		return nil, sqliteIOErr
	}
	return f, f.flush(tls, pFile)
}

func xRead(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	f, rc := flushed(tls, pFile)
	if rc != sqliteOK {
		return rc
	}
	return callRW(tls, origMethods(f).FxRead, pFile, pBuf, amt, off)
}

func xSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	f, rc := flushed(tls, pFile)
	if rc != sqliteOK {
		return rc
	}
	return callInt(tls, origMethods(f).FxSync, pFile, flags)
}

func xTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	f, rc := flushed(tls, pFile)
	if rc != sqliteOK {
		return rc
	}
	rc = callInt64(tls, origMethods(f).FxTruncate, pFile, size)
	f.end = -1
	if rc == sqliteOK {
		f.setEnd(size)
	}
	return rc
}

func xFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	f, rc := flushed(tls, pFile)
	if rc != sqliteOK {
		return rc
	}
	return callPtr(tls, origMethods(f).FxFileSize, pFile, pSize)
}

func xClose(tls *libc.TLS, pFile uintptr) int32 {
	f := lookup(pFile)
	if f == nil {
		return sqliteIOErr
	}
	rc := f.flush(tls, pFile)
	crc := callClose(tls, origMethods(f).FxClose, pFile)
	mu.Lock()
	delete(files, pFile)
	mu.Unlock()
	libc.Xfree(tls, f.buf)
	if rc != sqliteOK {
		return rc
	}
	return crc
}

// funcPtr is a Go function as the transpiled C calls a function pointer:
// the address of its func value (what modernc's __ccgo_fp takes).
func funcPtr(f any) uintptr {
	return (*[2]uintptr)(unsafe.Pointer(&f))[1]
}

// ptr turns an address SQLite gave into a pointer, as the transpiled C
// does: that memory is SQLite's (or a Go global), never moved.
func ptr(p uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&p))
}

// The calls through C function pointers, in the transpiled C's way.

func callOpen(tls *libc.TLS, fp, pVfs, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{fp})))(tls, pVfs, zName, pFile, flags, pOutFlags)
}

func callRW(tls *libc.TLS, fp, pFile, pBuf uintptr, amt int32, off int64) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr, int32, int64) int32)(unsafe.Pointer(&struct{ uintptr }{fp})))(tls, pFile, pBuf, amt, off)
}

func callInt(tls *libc.TLS, fp, pFile uintptr, v int32) int32 {
	return (*(*func(*libc.TLS, uintptr, int32) int32)(unsafe.Pointer(&struct{ uintptr }{fp})))(tls, pFile, v)
}

func callInt64(tls *libc.TLS, fp, pFile uintptr, v int64) int32 {
	return (*(*func(*libc.TLS, uintptr, int64) int32)(unsafe.Pointer(&struct{ uintptr }{fp})))(tls, pFile, v)
}

func callPtr(tls *libc.TLS, fp, pFile, p uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{fp})))(tls, pFile, p)
}

func callClose(tls *libc.TLS, fp, pFile uintptr) int32 {
	return (*(*func(*libc.TLS, uintptr) int32)(unsafe.Pointer(&struct{ uintptr }{fp})))(tls, pFile)
}

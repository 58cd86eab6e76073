package state

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EnvStateDir is the environment variable naming a [Dir] store's
// directory: `mcplambda dev` sets it for the instances of the function it
// runs, and dynamo.StoreFromEnv opens it with [OpenDir].
const EnvStateDir = "MCPLAMBDA_STATE_DIR"

// DirOptions configures [OpenDir]. A nil *DirOptions means defaults.
type DirOptions struct {
	// Now returns the current time, for expiry. If nil, time.Now is used.
	Now func() time.Time
	// Sync makes every write durable before it returns: the item file and
	// its directory are flushed to stable storage (fsync). Without it (the
	// zero value) a write survives the end of every process, a crash or a
	// restart of `mcplambda dev` included, but may be lost if the machine
	// itself crashes or loses power.
	Sync bool
}

// Dir is a [Store] in a directory of the local file system, for state
// that several processes on one machine share and that survives their
// restarts: the instances of a function under `mcplambda dev`, each its
// own process, see one store. It needs no service.
//
// Every process that opens the same directory with [OpenDir] sees the
// same items, and conditional writes are atomic across all of them: a
// write takes an exclusive flock(2) lock on one of 256 lock files (chosen
// by the key's hash), reads the current item, checks the condition and
// replaces the item's file by renaming a new file over it. Reads take no
// lock: a file is never modified in place, so a read sees either the old
// or the new item, never a torn one. A process that dies holding a lock
// releases it with its file descriptors.
//
// Each key is stored in its own file, named by the SHA-256 of the key;
// the file also holds the key, so a collision would be detected rather
// than return another key's value. Expired items are invisible at once;
// their files are deleted by a sweep that every 16th write of a Dir runs
// over one of the 256 subdirectories (at most 32 files examined), so the
// work per call stays bounded.
//
// Versions are the write's wall-clock time in microseconds, or the
// previous version plus one if that is larger: they increase with every
// write of a key, and a key deleted and re-created does not reuse an old
// version unless the clock steps back.
//
// The directory must be on a local file system (flock over NFS is not
// reliable). Dir works on Linux, macOS and the BSDs; elsewhere, Windows
// included, [OpenDir] returns an error wrapping [errors.ErrUnsupported].
//
// Dir is safe for concurrent use by goroutines and by processes. Waiting
// for another writer's lock ignores the context: a lock is held only for
// the time of one write.
type Dir struct {
	// Set at construction.
	root  string
	now   func() time.Time
	sync  bool
	hash  func(key string) [sha256.Size]byte
	start uint8 // where this Dir's sweeps begin, random so that processes differ

	stripes [stripes]stripe
	writes  atomic.Uint32 // writes so far, to pace sweeps
	sweeps  atomic.Uint32 // sweeps so far; the next one sweeps shard start+sweeps+1
	closed  atomic.Bool
}

// stripe is one of the 256 locks; keys whose hash starts with the same
// byte share it, and their files share a subdirectory (a shard).
type stripe struct {
	mu   sync.Mutex // held with the file lock, so one goroutine per process waits in flock
	file *os.File   // guarded by mu: the lock file, opened on first use
}

const (
	stripes     = 256
	sweepEvery  = 16 // one sweep every sweepEvery writes
	sweepBatch  = 32 // item files examined per sweep
	staleTemp   = time.Minute
	tempPrefix  = ".tmp-"
	itemsDir    = "items"
	locksDir    = "locks"
	headerBytes = 32
)

// magic starts every item file; the digit is the format version.
var magic = [8]byte{'m', 'c', 'p', 'l', 's', 't', 'a', '1'}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var _ Store = (*Dir)(nil)

// OpenDir opens the store in directory path, creating it (mode 0700) if
// it does not exist. It checks at once that the file system supports
// flock(2). Close releases the lock files; the items stay on disk.
//
// The store uses only the subdirectories "items" and "locks" of path;
// removing path (when no process uses it) empties the store.
func OpenDir(path string, opts *DirOptions) (*Dir, error) {
	if !flockSupported {
		return nil, fmt.Errorf("state: OpenDir: %w on %s: a Dir store needs flock(2)", errors.ErrUnsupported, runtime.GOOS)
	}
	if path == "" {
		return nil, errors.New("state: OpenDir: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("state: OpenDir: %w", err)
	}
	for _, sub := range []string{itemsDir, locksDir} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o700); err != nil {
			return nil, fmt.Errorf("state: OpenDir: %w", err)
		}
	}
	d := &Dir{root: abs, now: time.Now, hash: hashKey, start: uint8(rand.N(stripes))}
	if opts != nil {
		if opts.Now != nil {
			d.now = opts.Now
		}
		d.sync = opts.Sync
	}
	// Take and release one lock now, so that a file system without flock
	// fails here rather than on the first write.
	unlock, err := d.lock(0)
	if err != nil {
		d.Close()
		return nil, err
	}
	unlock()
	return d, nil
}

// Path returns the store's directory, as an absolute path.
func (d *Dir) Path() string { return d.root }

// Close releases the lock files. Calls after Close fail with an error
// wrapping [fs.ErrClosed]; Close itself is idempotent.
func (d *Dir) Close() error {
	d.closed.Store(true)
	var errs []error
	for i := range d.stripes {
		s := &d.stripes[i]
		s.mu.Lock()
		if s.file != nil {
			errs = append(errs, s.file.Close())
			s.file = nil
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (d *Dir) errClosed() error {
	return fmt.Errorf("state: dir %s: %w", d.root, fs.ErrClosed)
}

func hashKey(key string) [sha256.Size]byte { return sha256.Sum256([]byte(key)) }

// itemPath returns the file of the item whose key hashes to h.
func (d *Dir) itemPath(h [sha256.Size]byte) string {
	name := hex.EncodeToString(h[:])
	return filepath.Join(d.root, itemsDir, name[:2], name)
}

func (d *Dir) shardPath(shard uint8) string {
	return filepath.Join(d.root, itemsDir, hex.EncodeToString([]byte{shard}))
}

// lock takes stripe i's lock, in this process (mu) and across processes
// (flock on the stripe's lock file), and returns the function that
// releases both.
func (d *Dir) lock(i uint8) (unlock func(), err error) {
	s := &d.stripes[i]
	s.mu.Lock()
	if d.closed.Load() {
		s.mu.Unlock()
		return nil, d.errClosed()
	}
	if s.file == nil {
		name := filepath.Join(d.root, locksDir, hex.EncodeToString([]byte{i}))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("state: dir: opening lock file: %w", err)
		}
		s.file = f
	}
	if err := lockFile(s.file); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("state: dir: locking %s: %w", s.file.Name(), err)
	}
	f := s.file
	return func() {
		unlockFile(f) // cannot fail on a valid, locked descriptor
		s.mu.Unlock()
	}, nil
}

// record is the content of an item file.
type record struct {
	key     string
	value   []byte
	version int64
	expires int64 // Unix nanoseconds; 0 means never
}

func (r *record) expired(now time.Time) bool {
	return r.expires != 0 && !now.Before(time.Unix(0, r.expires))
}

func (r *record) item() *Item {
	it := &Item{Value: r.value, Version: r.version}
	if it.Value == nil {
		it.Value = []byte{}
	}
	if r.expires != 0 {
		it.Expires = time.Unix(0, r.expires)
	}
	return it
}

// encode returns the file content for r:
//
//	magic [8] | crc32c of the rest [4] | version [8] | expires [8] |
//	key length [4] | key | value
//
// integers big-endian.
func (r *record) encode() []byte {
	b := make([]byte, headerBytes, headerBytes+len(r.key)+len(r.value))
	copy(b, magic[:])
	binary.BigEndian.PutUint64(b[12:], uint64(r.version))
	binary.BigEndian.PutUint64(b[20:], uint64(r.expires))
	binary.BigEndian.PutUint32(b[28:], uint32(len(r.key)))
	b = append(b, r.key...)
	b = append(b, r.value...)
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(b[12:], castagnoli))
	return b
}

// errCorrupt reports an item file that cannot be decoded: a write cut
// short by a crash of the machine without DirOptions.Sync, or a file
// that is not ours.
var errCorrupt = errors.New("state: dir: corrupt item file")

// decodeHeader decodes the fixed-size start of an item file.
func decodeHeader(b []byte) (version, expires int64, keyLen int, err error) {
	if len(b) < headerBytes || !bytes.Equal(b[:8], magic[:]) {
		return 0, 0, 0, errCorrupt
	}
	return int64(binary.BigEndian.Uint64(b[12:])), int64(binary.BigEndian.Uint64(b[20:])), int(binary.BigEndian.Uint32(b[28:])), nil
}

func decode(b []byte) (*record, error) {
	version, expires, keyLen, err := decodeHeader(b)
	if err != nil {
		return nil, err
	}
	if keyLen > MaxKeyBytes || headerBytes+keyLen > len(b) || binary.BigEndian.Uint32(b[8:]) != crc32.Checksum(b[12:], castagnoli) {
		return nil, errCorrupt
	}
	return &record{
		key:     string(b[headerBytes : headerBytes+keyLen]),
		value:   b[headerBytes+keyLen:],
		version: version,
		expires: expires,
	}, nil
}

// read returns the record in the file at path, nil if there is none.
func read(path string) (*record, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: dir: %w", err)
	}
	r, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w %s", err, path)
	}
	return r, nil
}

// errCollision reports that a live item of another key has the same
// hash (SHA-256), so it cannot be written: never seen, but checked.
var errCollision = errors.New("state: dir: another key has the same hash")

// current reads the file at path for key, under the stripe lock: the live
// item for key (nil if none) and the version of whatever the file held,
// which the next version must exceed. A corrupt file is an error wrapping
// errCorrupt, a live item of another key one wrapping errCollision.
func (d *Dir) current(path, key string) (live *record, prev int64, err error) {
	r, err := read(path)
	if err != nil || r == nil {
		return nil, 0, err
	}
	if r.expired(d.now()) {
		return nil, r.version, nil
	}
	if r.key != key {
		return nil, r.version, fmt.Errorf("%w: %q and %q", errCollision, key, r.key)
	}
	return r, r.version, nil
}

// Get implements [Store]. It takes no lock.
func (d *Dir) Get(ctx context.Context, key string) (*Item, error) {
	if err := CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.closed.Load() {
		return nil, d.errClosed()
	}
	r, err := read(d.itemPath(d.hash(key)))
	if err != nil {
		return nil, err
	}
	if r == nil || r.key != key || r.expired(d.now()) {
		return nil, ErrNotFound
	}
	return r.item(), nil
}

// Put implements [Store].
func (d *Dir) Put(ctx context.Context, key string, value []byte, opts PutOptions) (int64, error) {
	if err := CheckPut(key, value, opts); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	v, err := d.put(key, value, opts)
	if err == nil {
		d.maybeSweep()
	}
	return v, err
}

func (d *Dir) put(key string, value []byte, opts PutOptions) (int64, error) {
	h := d.hash(key)
	unlock, err := d.lock(h[0])
	if err != nil {
		return 0, err
	}
	defer unlock()
	path := d.itemPath(h)
	live, prev, err := d.current(path, key)
	if errors.Is(err, errCorrupt) && !opts.IfAbsent && opts.IfVersion == 0 {
		err = nil // an unconditional write repairs the file
	}
	if err != nil {
		return 0, err
	}
	switch {
	case opts.IfAbsent && live != nil:
		return 0, ErrConflict
	case opts.IfVersion != 0 && (live == nil || live.version != opts.IfVersion):
		return 0, ErrConflict
	}
	r := &record{key: key, value: value, version: max(prev+1, time.Now().UnixMicro())}
	if opts.TTL > 0 {
		r.expires = d.now().Add(opts.TTL).UnixNano()
	}
	if err := d.write(path, r.encode()); err != nil {
		return 0, err
	}
	return r.version, nil
}

// write replaces the file at path with content: it writes a temporary
// file in the same directory and renames it over path, which is atomic.
func (d *Dir) write(path string, content []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) { // the shard's first item
		if err = os.MkdirAll(dir, 0o700); err == nil {
			err = d.syncDir(filepath.Dir(dir))
		}
		if err == nil {
			f, err = os.CreateTemp(dir, tempPrefix+"*")
		}
	}
	if err != nil {
		return fmt.Errorf("state: dir: %w", err)
	}
	_, err = f.Write(content)
	if err == nil && d.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("state: dir: %w", err)
	}
	return d.syncDir(dir)
}

// syncDir flushes dir's entries (a rename or a removal) with Options.Sync.
func (d *Dir) syncDir(dir string) error {
	if !d.sync {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("state: dir: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("state: dir: %w", err)
	}
	return nil
}

// Delete implements [Store].
func (d *Dir) Delete(ctx context.Context, key string, ifVersion int64) error {
	if err := CheckKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := d.delete(key, ifVersion)
	if err == nil {
		d.maybeSweep()
	}
	return err
}

func (d *Dir) delete(key string, ifVersion int64) error {
	h := d.hash(key)
	unlock, err := d.lock(h[0])
	if err != nil {
		return err
	}
	defer unlock()
	path := d.itemPath(h)
	live, _, err := d.current(path, key)
	switch {
	case errors.Is(err, errCollision):
		// Another key's item: key itself is absent.
		if ifVersion != 0 {
			return ErrConflict
		}
		return nil
	case errors.Is(err, errCorrupt) && ifVersion == 0:
		// An unconditional delete removes a corrupt file.
	case err != nil:
		return err
	case ifVersion != 0 && (live == nil || live.version != ifVersion):
		return ErrConflict
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("state: dir: %w", err)
	}
	return d.syncDir(filepath.Dir(path))
}

// maybeSweep runs a sweep every sweepEvery writes, after the write's lock
// is released (a sweep takes the lock of the shard it sweeps).
func (d *Dir) maybeSweep() {
	if d.writes.Add(1)%sweepEvery == 0 {
		d.sweep(d.start + uint8(d.sweeps.Add(1)))
	}
}

// sweep deletes expired items, and temporary files that writers left
// behind when they died, from one shard: it examines at most sweepBatch
// files, from a random position in the shard, and returns how many it
// deleted. Errors are ignored: a sweep is best effort, and the next one
// of the shard tries again.
func (d *Dir) sweep(shard uint8) int {
	dir := d.shardPath(shard)
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	if len(names) == 0 {
		return 0
	}
	now := d.now()
	first := rand.N(len(names))
	var expired []string
	removed := 0
	for i := range min(sweepBatch, len(names)) {
		name := names[(first+i)%len(names)]
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, tempPrefix) {
			if fi, err := os.Lstat(path); err == nil && time.Since(fi.ModTime()) > staleTemp && os.Remove(path) == nil {
				removed++
			}
			continue
		}
		if expiredHeader(path, now) {
			expired = append(expired, path)
		}
	}
	if len(expired) == 0 {
		return removed
	}
	unlock, err := d.lock(shard)
	if err != nil {
		return removed
	}
	defer unlock()
	for _, path := range expired {
		// Check again under the lock: the item may have been rewritten.
		if r, err := read(path); err == nil && r != nil && r.expired(now) && os.Remove(path) == nil {
			removed++
		}
	}
	return removed
}

// expiredHeader reports whether the item file at path holds an expired
// item, reading only its header.
func expiredHeader(path string, now time.Time) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [headerBytes]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	_, expires, _, err := decodeHeader(b[:])
	return err == nil && expires != 0 && !now.Before(time.Unix(0, expires))
}

package bridge

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gofiber/fiber/v2"
)

// How much memory request bodies may hold. The app streams bodies
// (StreamRequestBody): fasthttp reads the headers and at most 8 KiB of the
// body ahead, and a hook reads the rest itself, after routing and after
// refusing by Content-Length, so that an unknown path (404) or a body over
// its source's limit (413) costs no more than those 8 KiB whatever it
// announces. A body above smallBody then draws its size from a budget of
// bodyBudget bytes shared by every request in flight, waiting up to
// bodyWait for room; without room it is answered 503 with Retry-After,
// unread (Alertmanager retries a 503; GitHub does not retry by itself, but
// waits 10 s for an answer, hence the wait).
//
// The bound: bodies in flight hold at most bodyBudget (64 MiB) plus
// smallBody (64 KiB) per connection being read, plus fasthttp's ~40 KiB
// of buffers per connection. The 40 x 25 MB attack of issue 16 (to a 1 MB
// source, an unknown path, or unsigned to the 25 MB github source) peaked
// at 920 MB before; now the first two are refused before their bodies are
// read and the third has at most two bodies in memory at once.
const (
	smallBody  = 64 << 10
	bodyBudget = 64 << 20
	bodyWait   = 5 * time.Second
	retryAfter = "5"
)

// budget is a count of bytes that bodies may take, shared by requests.
// Waiters are not served in order: a small body fits in beside a large
// one waiting for room.
type budget struct {
	size int64
	wait time.Duration // how long take waits for room
	mu   sync.Mutex
	free int64
	room chan struct{} // closed (and replaced) when bytes are given back
}

func newBudget(n int64, wait time.Duration) *budget {
	return &budget{size: n, wait: wait, free: n, room: make(chan struct{})}
}

// take reserves n bytes, waiting for them; false when there was no room
// in time. n must not be more than the size.
func (b *budget) take(n int64) bool {
	var timeout <-chan time.Time
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return true
		}
		room := b.room
		b.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(b.wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-room:
		case <-timeout:
			return false
		}
	}
}

// give returns n bytes taken before.
func (b *budget) give(n int64) {
	b.mu.Lock()
	b.free += n
	close(b.room)
	b.room = make(chan struct{})
	b.mu.Unlock()
}

// errNoRoom refuses a body the budget has no room for: 503, retry later.
var errNoRoom = errors.New("too many large bodies in flight")

// readBody reads the raw body of a hook (never decompressed: c.Body()
// would inflate it without a limit) of at most limit bytes. Over the limit
// by its Content-Length, or when it cannot have room, it is refused before
// a byte more is read. done gives its room back; call it once the body is
// no longer needed.
// drainMax is the largest refused body read (and thrown away, a few KiB
// at a time) before the answer. A connection closed with a body still
// unread is reset by the kernel, and the sender often sees the reset, not
// the 413 or 404 that says why; a larger body is not worth reading.
const drainMax = 8 << 20

// discardBody reads what is left of a refused request's body, when its
// length is announced and at most drainMax, so that its answer arrives.
func discardBody(c *fiber.Ctx) {
	n := int64(c.Request().Header.ContentLength())
	r := c.Context().RequestBodyStream()
	if r == nil || n <= 0 || n > drainMax {
		return
	}
	_, _ = io.CopyN(io.Discard, r, n)
}

func (s *Service) readBody(c *fiber.Ctx, limit int64) (body []byte, done func(), err error) {
	done = func() {}
	n := int64(c.Request().Header.ContentLength()) // -1: chunked, unknown
	if n < -1 {
		n = 0 // neither Content-Length nor chunked: fasthttp reads no body
	}
	if n > limit {
		discardBody(c)
		return nil, done, adapters.Errorf(adapters.TooLarge, "body is %d bytes; the limit for this source is %d", n, limit)
	}
	need := n
	if n < 0 {
		// Chunked: at most limit+1 bytes, in a buffer that grows by
		// doubling, so twice that at worst.
		need = 2 * (limit + 1)
	}
	// A source may allow more than the whole budget: such a body takes it all.
	need = min(need, s.bodies.size)
	if need > smallBody {
		if !s.bodies.take(need) {
			return nil, done, errNoRoom
		}
		done = func() { s.bodies.give(need) }
	}
	r := c.Context().RequestBodyStream()
	if r == nil { // not streaming: the body is all there is
		raw := c.Request().Body()
		if int64(len(raw)) > limit {
			return nil, done, adapters.Errorf(adapters.TooLarge, "body is %d bytes; the limit for this source is %d", len(raw), limit)
		}
		return append([]byte(nil), raw...), done, nil
	}
	if n >= 0 {
		body = make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, done, adapters.Errorf(adapters.Malformed, "could not read the whole body (%d bytes announced)", n)
		}
		return body, done, nil
	}
	body, err = readChunked(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, done, adapters.Errorf(adapters.Malformed, "could not read the whole body")
	}
	if int64(len(body)) > limit {
		return nil, done, adapters.Errorf(adapters.TooLarge, "body is over the limit for this source, %d bytes", limit)
	}
	return body, done, nil
}

// chunkSize is the largest piece a chunked body is read in; the first
// pieces are smaller, so that a small body costs little.
const chunkSize = 64 << 10

// readChunked reads r to its end in pieces, then joins them once: at most
// twice the body's size is live at any time, what the budget reserved for
// it (io.ReadAll grows by a quarter at a time, with the old and the new
// buffer live together, and would go past that).
func readChunked(r io.Reader) ([]byte, error) {
	var chunks [][]byte
	total, size := 0, 4<<10
	for {
		c := make([]byte, size)
		size = min(2*size, chunkSize)
		n, err := io.ReadFull(r, c)
		if n > 0 {
			chunks = append(chunks, c[:n])
			total += n
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

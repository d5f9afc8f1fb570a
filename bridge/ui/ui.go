// Package ui is the web console the bridge serves at /ui/: a rule
// playground, the message history and the senders' state, in one page of
// plain HTML, one JS module and one CSS file embedded in the binary (no
// request leaves the bridge), and the JSON API behind it. The page and
// scripts share the admin API's auth: a Bearer token, or for the page a
// session cookie that the login form sets (the token never travels in a
// URL). The console reads the running bridge through Backend and never
// sends a message.
package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gofiber/fiber/v2"
)

//go:embed assets
var assets embed.FS

// Backend is what the console needs of the running bridge.
type Backend interface {
	// Ruleset is the running config.
	Ruleset() *rules.Ruleset
	// Receive turns a request into an event with the named source's
	// adapter, credentials unchecked (nothing is accepted or sent).
	Receive(source string, req *adapters.Request) (*event.Event, error)
	// TraceRequest is the kept request of trace seq (headers redacted).
	TraceRequest(seq uint64) (*adapters.Request, bool)
	// Tokens are the admin token (server.admin_token; "" turns the admin
	// API and the console off) and the read-only token ("" for none).
	Tokens() (admin, read string)
}

// Role is what a caller may do: read everything, or also change things
// (retry, reload).
type Role int

const (
	Reader Role = iota + 1
	Admin
)

func (r Role) String() string {
	if r == Admin {
		return "admin"
	}
	return "read-only"
}

// Bounds of the console's own state and inputs.
const (
	sessionTTL     = 12 * time.Hour
	maxSessions    = 1000
	maxLoginBody   = 4 << 10
	maxPreviewBody = 2 << 20
	// failedLogins in a minute, all callers together, before the login
	// answers 429 for the rest of that minute.
	failedLogins = 20
	cookieName   = "gewe_console"
	// csrfHeader must come with a state-changing request authenticated by
	// the cookie: a cross-site form cannot set it, and a cross-site fetch
	// that sets it needs a CORS preflight, which is never granted.
	csrfHeader = "X-Console"
)

// Console serves the web console.
type Console struct {
	b   Backend
	now func() time.Time

	mu       sync.Mutex
	sessions map[string]session
	// fails counts failed logins per client address in the current
	// minute: one client guessing cannot lock the others out.
	fails   map[string]int
	failsAt time.Time
}

type session struct {
	role    Role
	expires time.Time
	token   string // the token it was opened with: a new token ends it
}

// New returns the console of b.
func New(b Backend) *Console {
	return &Console{b: b, now: time.Now, sessions: map[string]session{}}
}

// Register adds the console's routes: the page under /ui/, its login and
// the JSON API it uses beside the admin API (under /api/v1). Its POST
// routes read their own bodies, bounded: register them before a
// middleware that refuses bodies.
func (c *Console) Register(app fiber.Router) {
	app.Get("/", func(ctx *fiber.Ctx) error { return ctx.Redirect("/ui/", fiber.StatusFound) })
	app.Post("/ui/login", c.login)
	app.Post("/ui/logout", c.logout)
	app.Get("/ui/*", c.asset)
	app.Get("/api/v1/session", c.Guard(Reader), c.session)
	// The playground shows the config's values (with ${VAR}s expanded) and
	// recent payloads, and compiles what it is sent: the admin's only.
	app.Get("/api/v1/playground", c.Guard(Admin), c.playgroundConfig)
	app.Post("/api/v1/playground", c.Guard(Admin), c.preview)
	app.Get("/api/v1/traces/:seq/request", c.Guard(Admin), c.traceRequest)
}

// Guard lets through a caller with at least role: a Bearer token (the
// admin token, or the read-only one), else the console's session cookie,
// with the CSRF header for a request that changes something.
func (c *Console) Guard(need Role) fiber.Handler {
	return func(ctx *fiber.Ctx) error {
		admin, read := c.b.Tokens()
		if admin == "" {
			return fail(ctx, fiber.StatusForbidden, "the admin API is off: set server.admin_token")
		}
		role := Role(0)
		if h := ctx.Get(fiber.HeaderAuthorization); h != "" {
			switch {
			case adapters.BearerOK(h, admin):
				role = Admin
			case read != "" && adapters.BearerOK(h, read):
				role = Reader
			default:
				return fail(ctx, fiber.StatusUnauthorized, "missing or wrong admin token")
			}
		} else if s, ok := c.lookup(ctx.Cookies(cookieName), admin, read); ok {
			if ctx.Method() != fiber.MethodGet && ctx.Method() != fiber.MethodHead && ctx.Get(csrfHeader) == "" {
				return fail(ctx, fiber.StatusForbidden, "a request from the console must send the "+csrfHeader+" header")
			}
			role = s.role
		} else {
			return fail(ctx, fiber.StatusUnauthorized, "missing or wrong admin token")
		}
		if role < need {
			return fail(ctx, fiber.StatusForbidden, "this needs the admin token; the read-only token only reads")
		}
		ctx.Locals("role", role)
		return ctx.Next()
	}
}

func (c *Console) lookup(id, admin, read string) (session, bool) {
	if id == "" {
		return session{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.sessions[id]
	if !ok {
		return session{}, false
	}
	valid := c.now().Before(s.expires) &&
		(s.role == Admin && s.token == admin || s.role == Reader && read != "" && s.token == read)
	if !valid {
		delete(c.sessions, id)
		return session{}, false
	}
	return s, true
}

// login takes the token from a JSON body ({"token": ...}) or a form
// field, and answers with the session cookie: HttpOnly, SameSite=Strict,
// holding a random id; the role stays here.
func (c *Console) login(ctx *fiber.Ctx) error {
	// A form on another site could post here too and log the victim's
	// browser into the poster's session: only the console's page, which
	// sends the header, may log in.
	if ctx.Get(csrfHeader) == "" {
		return fail(ctx, fiber.StatusForbidden, "log in from the console page (it sends the "+csrfHeader+" header)")
	}
	if !c.mayTryLogin(ctx.IP()) {
		ctx.Set(fiber.HeaderRetryAfter, "60")
		return fail(ctx, fiber.StatusTooManyRequests, "too many failed logins; wait a minute")
	}
	body, err := readBody(ctx, maxLoginBody)
	if err != nil {
		return bodyFail(ctx, err)
	}
	var in struct {
		Token string `json:"token"`
	}
	if strings.HasPrefix(ctx.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		form, _ := url.ParseQuery(string(body))
		in.Token = form.Get("token")
	} else if err := json.Unmarshal(body, &in); err != nil {
		return fail(ctx, fiber.StatusBadRequest, `send {"token": "..."}`)
	}
	admin, read := c.b.Tokens()
	if admin == "" {
		return fail(ctx, fiber.StatusForbidden, "the console is off: set server.admin_token")
	}
	var role Role
	switch {
	case equal(in.Token, admin):
		role = Admin
	case read != "" && equal(in.Token, read):
		role = Reader
	default:
		c.failedLogin(ctx.IP())
		return fail(ctx, fiber.StatusUnauthorized, "wrong token")
	}
	id := newSessionID()
	c.mu.Lock()
	c.evict()
	c.sessions[id] = session{role: role, expires: c.now().Add(sessionTTL), token: in.Token}
	c.mu.Unlock()
	ctx.Cookie(&fiber.Cookie{Name: cookieName, Value: id, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Secure: ctx.Protocol() == "https", Expires: c.now().Add(sessionTTL)})
	return ctx.JSON(fiber.Map{"role": role.String()})
}

func (c *Console) logout(ctx *fiber.Ctx) error {
	if id := ctx.Cookies(cookieName); id != "" {
		c.mu.Lock()
		delete(c.sessions, id)
		c.mu.Unlock()
	}
	ctx.Cookie(&fiber.Cookie{Name: cookieName, Value: "", Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteStrictMode,
		Expires: time.Unix(1, 0)})
	return ctx.JSON(fiber.Map{"ok": true})
}

// evict drops expired sessions, and the one ending soonest when full.
func (c *Console) evict() {
	now := c.now()
	var first string
	for id, s := range c.sessions {
		if !now.Before(s.expires) {
			delete(c.sessions, id)
		} else if first == "" || s.expires.Before(c.sessions[first].expires) {
			first = id
		}
	}
	if len(c.sessions) >= maxSessions {
		delete(c.sessions, first)
	}
}

func (c *Console) mayTryLogin(ip string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Sub(c.failsAt) > time.Minute || c.fails == nil {
		c.fails, c.failsAt = map[string]int{}, c.now()
	}
	return c.fails[ip] < failedLogins
}

func (c *Console) failedLogin(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fails == nil {
		c.fails = map[string]int{}
	}
	// Bounded: past this many addresses in a minute, the counting
	// starts over rather than growing.
	if len(c.fails) >= 10000 {
		c.fails = map[string]int{}
	}
	c.fails[strings.Clone(ip)]++
}

func (c *Console) session(ctx *fiber.Ctx) error {
	role, _ := ctx.Locals("role").(Role)
	return ctx.JSON(fiber.Map{"role": role.String()})
}

// asset serves the embedded page. Nothing it loads comes from elsewhere,
// and the Content-Security-Policy says so to the browser.
func (c *Console) asset(ctx *fiber.Ctx) error {
	name := strings.TrimPrefix(path.Clean("/"+ctx.Params("*")), "/")
	if name == "" {
		name = "index.html"
	}
	b, err := fs.ReadFile(assets, "assets/"+name)
	if err != nil {
		return fail(ctx, fiber.StatusNotFound, "not found")
	}
	ctx.Set(fiber.HeaderContentType, mime.TypeByExtension(path.Ext(name)))
	ctx.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	ctx.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	ctx.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	ctx.Set(fiber.HeaderCacheControl, "no-cache")
	return ctx.Send(b)
}

// readBody reads at most limit bytes of the request body, as sent (a
// compressed body is refused, not inflated).
func readBody(ctx *fiber.Ctx, limit int64) ([]byte, error) {
	if enc := ctx.Get(fiber.HeaderContentEncoding); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, fiber.NewError(fiber.StatusUnsupportedMediaType, "send the body uncompressed")
	}
	if n := ctx.Request().Header.ContentLength(); int64(n) > limit {
		return nil, fiber.NewError(fiber.StatusRequestEntityTooLarge, "the body is too large")
	}
	var b []byte
	if r := ctx.Context().RequestBodyStream(); r != nil {
		var err error
		if b, err = io.ReadAll(io.LimitReader(r, limit+1)); err != nil {
			return nil, fiber.NewError(fiber.StatusBadRequest, "could not read the body")
		}
	} else {
		b = append([]byte(nil), ctx.Request().Body()...)
	}
	if int64(len(b)) > limit {
		return nil, fiber.NewError(fiber.StatusRequestEntityTooLarge, "the body is too large")
	}
	return b, nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func newSessionID() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on Linux
	return hex.EncodeToString(b[:])
}

func bodyFail(ctx *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fail(ctx, fe.Code, fe.Message)
	}
	return fail(ctx, fiber.StatusBadRequest, "could not read the body")
}

func fail(ctx *fiber.Ctx, code int, msg string) error {
	return ctx.Status(code).JSON(fiber.Map{"error": msg})
}

// traceRequest answers the kept request of a trace, for the playground:
// its headers (credentials redacted) and its body as text.
func (c *Console) traceRequest(ctx *fiber.Ctx) error {
	seq, err := strconv.ParseUint(ctx.Params("seq"), 10, 64)
	if err != nil {
		return fail(ctx, fiber.StatusBadRequest, "seq must be a number")
	}
	r, ok := c.b.TraceRequest(seq)
	if !ok {
		return fail(ctx, fiber.StatusNotFound, "no request kept for this trace")
	}
	return ctx.JSON(fiber.Map{"source": r.Source, "headers": r.Headers, "payload": string(r.Body)})
}

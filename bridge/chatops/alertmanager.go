package chatops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// Matcher is one matcher of a silence, API v2's shape.
type Matcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"` // absent means true (older Alertmanagers)
}

// Silence is a silence as the API v2 posts and returns it.
type Silence struct {
	ID        string    `json:"id,omitempty"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	Status    *struct {
		State string `json:"state"` // active, pending, expired
	} `json:"status,omitempty"`
}

// Active reports whether the silence is active or pending.
func (s Silence) Active() bool {
	return s.Status == nil || s.Status.State == "active" || s.Status.State == "pending"
}

// MatchesExactly reports whether the silence's matchers are exactly an
// equality on each of labels: the silence a command made for them.
func (s Silence) MatchesExactly(labels map[string]string) bool {
	if len(s.Matchers) != len(labels) {
		return false
	}
	for _, m := range s.Matchers {
		if m.IsRegex || (m.IsEqual != nil && !*m.IsEqual) {
			return false
		}
		if v, ok := labels[m.Name]; !ok || v != m.Value {
			return false
		}
	}
	return true
}

// MatchersFor are equality matchers on every label.
func MatchersFor(labels map[string]string) []Matcher {
	t := true
	out := make([]Matcher, 0, len(labels))
	for _, k := range sortedKeys(labels) {
		out = append(out, Matcher{Name: k, Value: labels[k], IsEqual: &t})
	}
	return out
}

// Alertmanager is a client of one Alertmanager's API v2.
type Alertmanager struct {
	base  string
	cfg   config.AlertmanagerAPI
	hc    *http.Client
	Limit int64 // of an answer read
}

// NewAlertmanager returns a client for api; a nil hc has a 10s timeout.
func NewAlertmanager(api config.AlertmanagerAPI, hc *http.Client) *Alertmanager {
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Alertmanager{base: strings.TrimRight(api.URL, "/"), cfg: api, hc: hc, Limit: 4 << 20}
}

// Create posts a silence and returns its id (POST /api/v2/silences).
func (a *Alertmanager) Create(ctx context.Context, s Silence) (string, error) {
	var out struct {
		SilenceID string `json:"silenceID"`
	}
	if err := a.do(ctx, http.MethodPost, "/api/v2/silences", s, &out); err != nil {
		return "", err
	}
	if out.SilenceID == "" {
		return "", fmt.Errorf("alertmanager answered no silenceID")
	}
	return out.SilenceID, nil
}

// List returns the silences (GET /api/v2/silences).
func (a *Alertmanager) List(ctx context.Context) ([]Silence, error) {
	var out []Silence
	err := a.do(ctx, http.MethodGet, "/api/v2/silences", nil, &out)
	return out, err
}

// Expire ends a silence (DELETE /api/v2/silence/{id}).
func (a *Alertmanager) Expire(ctx context.Context, id string) error {
	return a.do(ctx, http.MethodDelete, "/api/v2/silence/"+url.PathEscape(id), nil, nil)
}

func (a *Alertmanager) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return fmt.Errorf("alertmanager %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case a.cfg.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+string(a.cfg.BearerToken))
	case a.cfg.BasicAuth != nil:
		req.SetBasicAuth(a.cfg.BasicAuth.Username, string(a.cfg.BasicAuth.Password))
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		// The url.Error names the URL, which holds no credential here.
		return fmt.Errorf("alertmanager %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, a.Limit))
	if err != nil {
		return fmt.Errorf("alertmanager %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(b))
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return fmt.Errorf("alertmanager %s %s: HTTP %d: %s", method, path, resp.StatusCode, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("alertmanager %s %s: unexpected answer: %w", method, path, err)
	}
	return nil
}

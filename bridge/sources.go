package bridge

import (
	"strings"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/adapters/alertmanager"
	"github.com/gewe-bridge/gewe-bridge/adapters/generic"
	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/adapters/gewecallback"
	"github.com/gewe-bridge/gewe-bridge/adapters/gitea"
	"github.com/gewe-bridge/gewe-bridge/adapters/github"
	"github.com/gewe-bridge/gewe-bridge/adapters/gitlab"
	"github.com/gewe-bridge/gewe-bridge/adapters/grafana"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// Source is one configured source: the inbound adapter of its type and
// what the intake needs to know of it. This is the one place a source's
// type picks its adapter.
type Source struct {
	Name     string
	Type     string
	Receiver adapters.Receiver
	// Limit is the largest body the source takes.
	Limit int64
	// EventHeader names the request header the adapter reads the event
	// from (lower case); "" when the payload says it.
	EventHeader string
	// DeliveryHeader names the header with the delivery id when the
	// adapter requires one.
	DeliveryHeader string
	// Label is the event's metric label: known names only, so that
	// senders cannot make a series per request.
	Label func(event string) string
	// CredentialHeader is the source's own signature header (lower case),
	// redacted with the usual ones before rules and traces see headers.
	CredentialHeader string
}

// Credentials says whether a source's adapter checks them.
type Credentials bool

const (
	CheckCredentials Credentials = true
	// NoCredentials is for `gewe-bridge test`, which sends nothing and
	// has no request to authenticate.
	NoCredentials Credentials = false
)

// NewSource builds the source sc of the config.
func NewSource(name string, sc config.Source, limits config.LimitsConfig, creds Credentials) *Source {
	if !creds {
		sc.Secret, sc.BearerToken, sc.BasicAuth = "", "", nil
	}
	src := &Source{Name: name, Type: sc.Type, Limit: limits.BodyBytes}
	switch sc.Type {
	case "github":
		src.Receiver = github.New(github.Config{Secret: string(sc.Secret)})
		src.Limit = limits.GitHubBody
		src.EventHeader = "x-github-event"
		src.DeliveryHeader = "x-github-delivery"
		src.Label = github.EventLabel
	case "gitea":
		src.Receiver = gitea.New(gitea.Config{Secret: string(sc.Secret)})
		src.Limit = limits.GitHubBody
		src.EventHeader = "x-gitea-event"
		src.Label = github.EventLabel // the same event names as GitHub's
	case "gitlab":
		src.Receiver = gitlab.New(gitlab.Config{Token: string(sc.Secret)})
		src.Limit = limits.GitHubBody
		src.EventHeader = "x-gitlab-event"
		src.Label = gitlabLabel
	case "grafana":
		c := grafana.Config{BearerToken: string(sc.BearerToken)}
		if sc.BasicAuth != nil {
			c.BasicAuth = &grafana.BasicAuth{Username: sc.BasicAuth.Username, Password: string(sc.BasicAuth.Password)}
		}
		src.Receiver = grafana.New(c)
		src.Label = alertmanager.EventLabel // "alert"
	case "alertmanager":
		c := alertmanager.Config{BearerToken: string(sc.BearerToken)}
		if sc.BasicAuth != nil {
			c.BasicAuth = &alertmanager.BasicAuth{Username: sc.BasicAuth.Username, Password: string(sc.BasicAuth.Password)}
		}
		src.Receiver = alertmanager.New(c)
		src.Label = alertmanager.EventLabel
	case config.TypeGeweCallback:
		src.Receiver = gewecallback.New(gewecallback.Config{Secret: string(sc.Secret)})
		src.Label = gewecallback.EventLabel
	default:
		src.Receiver = generic.New(generic.Config{BearerToken: string(sc.BearerToken), HMACSecret: string(sc.Secret), HMACHeader: sc.HMACHeader})
		src.EventHeader = "x-event"
		src.Label = generic.EventLabel
		src.CredentialHeader = strings.ToLower(sc.HMACHeader)
	}
	if sc.BodyBytes > 0 {
		src.Limit = sc.BodyBytes
	}
	return src
}

// gitlabLabel is the metric label of a GitLab event: the names the gitlab
// adapter gives GitLab's documented hooks, others "other".
func gitlabLabel(name string) string {
	switch name {
	case "", "push", "tag_push", "merge_request", "pipeline", "job", "issue", "confidential_issue",
		"note", "confidential_note", "release", "wiki_page", "deployment", "feature_flag", "emoji", "resource_access_token":
		return name
	}
	return "other"
}

// GeweConfig is the GeWe client's config from the file's gewe section:
// the one place that maps one to the other.
func GeweConfig(c config.GeweConfig) gewe.Config {
	return gewe.Config{BaseURL: c.BaseURL, Token: string(c.Token), AppID: c.AppID, API: c.API, Timeout: c.Timeout.D()}
}

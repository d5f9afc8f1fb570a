package e2e

// standardRules is the part of the test config after gewe/server/storage/
// delivery: rules.example.yaml's sources, contacts and rules with the
// secrets set, plus a few rules and templates that show more of the
// payloads (cards with characters XML must escape, mentions by contact,
// a generic source for load tests, a compact template for alert storms).
const standardRules = `
limits:
  github_body_bytes: 65536        # the fixtures are under 30 kB
sources:
  github:
    type: github
    secret: "` + githubSecret + `"
  alertmanager:
    type: alertmanager
    bearer_token: "` + amToken + `"
  deploys:
    type: generic
    bearer_token: "` + deployToken + `"
    body_bytes: 4096
  load:
    type: generic
    bearer_token: "` + deployToken + `"

contacts:
  ops:      { wxid: "12345678@chatroom" }
  dev:      { wxid: "87654321@chatroom" }
  web:      { wxid: "55555555@chatroom" }
  storm:    { wxid: "99999999@chatroom" }
  oncall:   { wxid: wxid_oncall, name: 值班 }
  alice:    { wxid: wxid_alice, name: Alice, github: alice-gh }
  octocat:  { wxid: wxid_octocat, name: Octocat, github: Codertocat }

templates:
  pr-card:
    link:
      title: "PR #{{ .payload.number }} {{ .payload.pull_request.title }}"
      des: "{{ .sender }} → {{ .repo }}: {{ .payload.pull_request.head.ref }} → {{ .payload.pull_request.base.ref }} <review & merge>"
      url: "{{ .payload.pull_request.html_url }}?utm_source=gewe&tab=files"
      thumb_url: "{{ .payload.sender.avatar_url }}"
  release-card:
    appmsg: |
      <appmsg appid="" sdkver="0"><title>{{ xml .repo }} {{ xml .payload.release.tag_name }} released</title><des>{{ xml (.payload.release.name | default "untitled") }} by {{ xml .sender }} &amp; "friends" &lt;3</des><type>5</type><url>{{ xml .payload.release.html_url }}?a=1&amp;b=2</url><thumburl></thumburl></appmsg>
  alert-short: "{{ .labels.alertname }} {{ .status }}: {{ len .alerts }} alert(s) {{ .external_url }}"
  alert-detail: |
    {{ .labels.alertname }} is {{ .status }}
    {{- range .alerts }}
    - {{ .annotations.summary }} ({{ .labels.instance }}) {{ .generatorURL }}
    {{- end }}
  storm: "{{ .labels.alertname }} {{ .status }}"
  issue: "Issue #{{ .payload.issue.number }} {{ .action }} in {{ .repo }} by {{ .sender }}: {{ .payload.issue.title }} {{ .payload.issue.html_url }}"
  push: "{{ .sender }} pushed {{ len .payload.commits }} commit(s) to {{ .branch }} of {{ .repo }}: {{ .payload.head_commit.message }} {{ .payload.compare }}"
  deploy: |
    🚀 {{ .payload.service | default "a service" }} {{ .payload.version }} → {{ .payload.environment | default "production" }}
    {{- with .payload.status }} ({{ . }}){{ end }}
  plain: "{{ .payload.text }}"

rules:
  - name: storm
    when: 'type == "alertmanager" && labels.storm == "yes"'
    to: [storm]
    template: storm
  - name: audit
    when: 'type == "alertmanager" && labels.severity == "critical" && status == "firing"'
    to: [wxid_oncall]
    template: alert-short
    continue: true
  - name: critical-alerts
    when: 'type == "alertmanager" && labels.severity == "critical"'
    to: [ops]
    at: [oncall]
  - name: web-alerts
    when: 'type == "alertmanager" && labels.team == "web"'
    to: [web, wxid_alice]
    at: [alice, oncall]
    template: alert-detail
  - name: team-alerts
    when: 'type == "alertmanager" && labels.team != ""'
    to_expr: 'labels.team == "infra" ? "ops" : "dev"'
  - name: other-alerts
    when: 'type == "alertmanager"'
    to: [ops]
  - name: pull-requests
    when: 'source == "github" && event == "pull_request" && action in ["opened", "reopened", "ready_for_review"]'
    to: [dev]
    template: pr-card
  - name: ci-failures
    when: 'event == "workflow_run" && payload.workflow_run?.conclusion == "failure"'
    to: [dev]
    at_expr: 'contacts_by_github([payload.workflow_run?.actor?.login ?? ""])'
  - name: issues
    when: 'source == "github" && event == "issues"'
    to: [dev]
    template: issue
  - name: pushes
    when: 'source == "github" && event == "push"'
    to: [dev]
    template: push
  - name: releases
    when: 'source == "github" && event == "release" && action == "published"'
    to: [dev]
    template: release-card
  - name: github
    when: 'source == "github" && event in ["workflow_run", "ping"]'
    to: [dev]
  - name: deploys
    when: 'source == "deploys"'
    to: [ops]
    template: deploy
  - name: load
    when: 'source == "load"'
    to_expr: 'payload.to'         # any wxid the test names, not only contacts
    allow_any_recipient: true
    template: plain
`

// Recipients of standardRules.
const (
	opsGroup   = "12345678@chatroom"
	devGroup   = "87654321@chatroom"
	webGroup   = "55555555@chatroom"
	stormGroup = "99999999@chatroom"
)

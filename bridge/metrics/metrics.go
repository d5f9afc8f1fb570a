// Package metrics is the bridge's Prometheus metrics: what the intake, the
// rules and the senders count, and the outbox read at scrape time.
package metrics

import (
	"context"
	"runtime"
	"strconv"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the bridge's Prometheus metrics. A nil *Metrics records
// nothing, so tests and tools need not register any.
type Metrics struct {
	Registry *prometheus.Registry

	webhooks      *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	ruleMatches   *prometheus.CounterVec
	ruleErrors    *prometheus.CounterVec
	queued        prometheus.Counter
	sentTotal     prometheus.Counter
	retriedTotal  prometheus.Counter
	deadTotal     prometheus.Counter
	duplicates    prometheus.Counter
	coalesced     prometheus.Counter
	sendLatency   prometheus.Histogram
	sendFailures  *prometheus.CounterVec
	senderPaused  *prometheus.GaugeVec
	pauseReason   *prometheus.GaugeVec
	buildInfo     *prometheus.GaugeVec
	reloadSuccess prometheus.Gauge
	reloadTime    prometheus.Gauge
	chatops       *chatopsMetrics // chatops.go
}

// backlogCollector reports the outbox's queue depth and the age of its
// oldest pending message per account, read at scrape time.
type backlogCollector struct {
	outbox Watched
	now    func() time.Time
	depth  *prometheus.Desc
	oldest *prometheus.Desc
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.depth; ch <- c.oldest }

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	backlog, err := c.outbox.Backlog(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.depth, err)
		return
	}
	for _, b := range backlog {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(b.Pending), b.Account)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, c.now().Sub(b.Oldest).Seconds(), b.Account)
	}
}

// Watched is what the metrics read of an outbox at scrape time.
type Watched interface {
	Backlog(ctx context.Context) ([]outbox.Backlog, error)
	CommitCounts() (commits, writes uint64)
}

// WatchOutbox adds the outbox's queue and commit metrics.
func (m *Metrics) WatchOutbox(o Watched, now func() time.Time) {
	if m == nil {
		return
	}
	m.Registry.MustRegister(&backlogCollector{outbox: o, now: now,
		depth: prometheus.NewDesc("gewe_bridge_queue_pending", "Messages waiting to be sent, by account.", []string{"account"}, nil),
		oldest: prometheus.NewDesc("gewe_bridge_oldest_pending_seconds", "Age of the oldest message waiting to be sent, by account.",
			[]string{"account"}, nil)})
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gewe_bridge_outbox_commits_total",
			Help: "Transactions the outbox committed (one fsync each)."},
			func() float64 { n, _ := o.CommitCounts(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gewe_bridge_outbox_committed_writes_total",
			Help: "Writes (webhooks accepted, sends recorded) those transactions held; divided by the commits, how many share an fsync."},
			func() float64 { _, n := o.CommitCounts(); return float64(n) }))
}

// New registers the bridge's metrics, plus Go and process ones.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	const ns = "gewe_bridge"
	m := &Metrics{
		Registry: r,
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "webhooks_received_total",
			Help: "Webhooks received, by source, event and HTTP answer."}, []string{"source", "event", "code"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "webhook_auth_failures_total",
			Help: "Webhooks refused for bad or missing credentials."}, []string{"source"}),
		ruleMatches: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rule_matches_total",
			Help: "Events matched, by rule."}, []string{"rule"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "rule_errors_total",
			Help: "Rule failures at run time, by rule and stage (when, to_expr, at_expr, template_expr, template)."}, []string{"rule", "stage"}),
		queued: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "messages_queued_total",
			Help: "Messages accepted into the outbox."}),
		sentTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "messages_sent_total",
			Help: "Messages delivered to GeWe."}),
		retriedTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "messages_retried_total",
			Help: "Failed sends scheduled for another attempt."}),
		deadTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "messages_dead_lettered_total",
			Help: "Messages given up."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "webhooks_deduplicated_total",
			Help: "Webhooks answered as duplicates, sending nothing."}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "messages_coalesced_total",
			Help: "Messages merged into another message to the same recipient."}),
		sendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "gewe_request_duration_seconds",
			Help: "GeWe API call latency.", Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30}}),
		sendFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "gewe_request_failures_total",
			Help: "Failed GeWe API calls, by kind."}, []string{"kind"}),
		senderPaused: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "sender_paused",
			Help: "1 while an account's sender is paused (offline, token or risk control)."}, []string{"account"}),
		pauseReason: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "sender_pause_reason",
			Help: "1 for the reason an account's sender is paused (wrong_endpoint, token, offline, risk_control, unknown_app_id, store_unwritable, ...); absent while it is not."}, []string{"account", "reason"}),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
			Help: "Always 1; the labels say which gewe-bridge is running."}, []string{"version", "goversion"}),
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "config_last_reload_successful",
			Help: "Whether the last config reload succeeded."}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "config_last_reload_success_timestamp_seconds",
			Help: "Time of the last successful config load."}),
	}
	m.chatops = newChatopsMetrics(r, ns)
	r.MustRegister(m.webhooks, m.authFailures, m.ruleMatches, m.ruleErrors, m.queued, m.sentTotal, m.retriedTotal,
		m.deadTotal, m.duplicates, m.coalesced, m.sendLatency, m.sendFailures, m.senderPaused, m.pauseReason, m.buildInfo, m.reloadSuccess, m.reloadTime)
	return m
}

// Webhook counts a webhook by source, event label and answer.
func (m *Metrics) Webhook(source, event string, code int) {
	if m != nil {
		m.webhooks.WithLabelValues(source, event, strconv.Itoa(code)).Inc()
		if code == 401 {
			m.authFailures.WithLabelValues(source).Inc()
		}
	}
}

// Routed counts rule matches and rule failures.
func (m *Metrics) Routed(matched []string, errs []RuleError) {
	if m == nil {
		return
	}
	for _, r := range matched {
		m.ruleMatches.WithLabelValues(r).Inc()
	}
	for _, e := range errs {
		m.ruleErrors.WithLabelValues(e.Rule, e.Stage).Inc()
	}
}

// RuleError is a rule that failed, and at which stage.
type RuleError struct{ Rule, Stage string }

// Accepted counts messages queued.
func (m *Metrics) Accepted(n int) {
	if m != nil {
		m.queued.Add(float64(n))
	}
}

// Duplicate counts a webhook answered as a duplicate.
func (m *Metrics) Duplicate() {
	if m != nil {
		m.duplicates.Inc()
	}
}

// Sent counts n messages delivered in one send (n-1 were coalesced).
func (m *Metrics) Sent(n int) {
	if m != nil {
		m.sentTotal.Add(float64(n))
		m.coalesced.Add(float64(n - 1))
	}
}

// Retried counts messages scheduled for another attempt.
func (m *Metrics) Retried(n int) {
	if m != nil {
		m.retriedTotal.Add(float64(n))
	}
}

// Dead counts messages given up.
func (m *Metrics) Dead(n int) {
	if m != nil {
		m.deadTotal.Add(float64(n))
	}
}

// ObserveSend records a GeWe call's latency, and its failure by reason.
func (m *Metrics) ObserveSend(start time.Time, err error) {
	if m == nil {
		return
	}
	m.sendLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		kind := "other"
		if ge, ok := gewe.AsError(err); ok {
			kind = ge.Kind.Reason()
		}
		m.sendFailures.WithLabelValues(kind).Inc()
	}
}

// SetBuildInfo sets gewe_bridge_build_info for this build.
func (m *Metrics) SetBuildInfo(version string) {
	if m != nil {
		m.buildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	}
}

// Paused records whether an account's sender is paused, and why (reason
// is "" when it is not).
func (m *Metrics) Paused(account, reason string) {
	if m == nil {
		return
	}
	v := 0.0
	if reason != "" {
		v = 1
	}
	m.senderPaused.WithLabelValues(account).Set(v)
	m.pauseReason.DeletePartialMatch(prometheus.Labels{"account": account})
	if reason != "" {
		m.pauseReason.WithLabelValues(account, reason).Set(1)
	}
}

// Reloaded records a config load's outcome.
func (m *Metrics) Reloaded(ok bool) {
	if m == nil {
		return
	}
	if ok {
		m.reloadSuccess.Set(1)
		m.reloadTime.SetToCurrentTime()
	} else {
		m.reloadSuccess.Set(0)
	}
}

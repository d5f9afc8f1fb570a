package metrics

import "github.com/prometheus/client_golang/prometheus"

type chatopsMetrics struct {
	callbacks *prometheus.CounterVec
	commands  *prometheus.CounterVec
}

func newChatopsMetrics(r *prometheus.Registry, ns string) *chatopsMetrics {
	c := &chatopsMetrics{
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "chatops_callbacks_total",
			Help: "GeWe callbacks answered, by what was done with them (stored, duplicate, own, stale, not_a_command, not_a_message, unavailable)."}, []string{"source", "outcome"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "chatops_commands_total",
			Help: "Chat-ops commands carried out, by command and result (silenced, unsilenced, listed, help, refused, unknown_message, no_quote, failed...)."}, []string{"command", "result"}),
	}
	r.MustRegister(c.callbacks, c.commands)
	return c
}

// Callback counts a GeWe callback by what was done with it.
func (m *Metrics) Callback(source, outcome string) {
	if m != nil {
		m.chatops.callbacks.WithLabelValues(source, outcome).Inc()
	}
}

// Command counts a chat-ops command by its kind and result.
func (m *Metrics) Command(command, result string) {
	if m != nil {
		m.chatops.commands.WithLabelValues(command, result).Inc()
	}
}

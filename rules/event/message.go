package event

import "time"

// Message is one rendered message for one recipient, ready to be queued.
type Message struct {
	Rule string   `json:"rule"` // the rule that produced it
	To   string   `json:"to"`   // wxid or NNNN@chatroom
	Text string   `json:"text,omitempty"`
	At   []string `json:"at,omitempty"`  // wxids mentioned; "notify@all" for everyone
	XML  string   `json:"xml,omitempty"` // an <appmsg> node; set for app cards, Text is then empty
	// NotBefore holds the message until then (quiet hours): the outbox
	// makes it due at that time, not at once. Zero: due when accepted.
	NotBefore time.Time `json:"not_before,omitzero"`
	// Alerts are the alerts the message tells of (an Alertmanager
	// event's), kept so that a reply quoting it can silence them.
	Alerts []AlertRef `json:"alerts,omitempty"`
}

// DueAt is when a message accepted at accepted is first due.
func (m *Message) DueAt(accepted time.Time) time.Time {
	if m.NotBefore.After(accepted) {
		return m.NotBefore
	}
	return accepted
}

// IsApp reports whether the message is an app card (sendapp) rather than text.
func (m *Message) IsApp() bool { return m.XML != "" }

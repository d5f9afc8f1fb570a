package event

import "fmt"

// AlertRef is what the bridge keeps of an alert a message carried, so
// that a reply quoting the message can silence it: the alert's labels
// (the silence's matchers), its fingerprint, and where it came from.
type AlertRef struct {
	Source      string            `json:"source"` // the source's name in the config
	Fingerprint string            `json:"fingerprint,omitempty"`
	Labels      map[string]string `json:"labels"`
	ExternalURL string            `json:"external_url,omitempty"` // the Alertmanager's own URL
}

// AlertRefs are the refs of alerts (Event.Alerts items) of an
// Alertmanager event; nil for any other event.
func (e *Event) AlertRefs(alerts []any) []AlertRef {
	if e.Type != "alertmanager" {
		return nil
	}
	var out []AlertRef
	for _, x := range alerts {
		a, ok := x.(map[string]any)
		if !ok {
			continue
		}
		l, _ := a["labels"].(map[string]any)
		if len(l) == 0 {
			continue
		}
		labels := make(map[string]string, len(l))
		for k, v := range l {
			if s, ok := v.(string); ok {
				labels[k] = s
			} else {
				labels[k] = fmt.Sprint(v)
			}
		}
		fp, _ := a["fingerprint"].(string)
		out = append(out, AlertRef{Source: e.Source, Fingerprint: fp, Labels: labels, ExternalURL: e.ExternalURL})
	}
	return out
}

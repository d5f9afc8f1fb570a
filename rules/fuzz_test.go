package rules

import (
	"testing"
)

// FuzzLoad: any file gives a ruleset or problems, never a panic; every
// problem has a message.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(exampleConfigForFuzz))
	f.Add([]byte("rules: [{name: a, when: 'x ==', to: [wxid_a]}]"))
	f.Add([]byte("sources: {a: {type: github}}\ntemplates: {t: {link: {title: '{{'}}}}"))
	f.Add([]byte("gewe: {timeout: 7x}\nrules: &a [*a]"))
	// Issue 16: an expression that would allocate a terabyte, secrets in errors.
	f.Add([]byte(exampleConfigForFuzz + "  - {name: c, when: 'len(repeat(repeat(\"ab\", 500000), 1000000)) > 0', to: [ops]}\n"))
	f.Add([]byte("delivery: {on_timeout: '${TOKEN}'}\nrules: [{name: a, when: 'x == ${TOKEN}', to_expr: 'payload.to', allow_any_recipient: true, split_alerts: true}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, probs := Load(data, "fuzz.yaml", func(string) string { return "" })
		if rs == nil && probs.Err() == nil {
			t.Fatal("no ruleset and no error")
		}
		for _, p := range probs {
			if p.Msg == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
		}
	})
}

const exampleConfigForFuzz = `
sources: {am: {type: alertmanager, bearer_token: x}}
contacts: {ops: {wxid: "1@chatroom"}, al: {wxid: wxid_al, name: Al}}
templates:
  t: "{{ .labels.alertname }} {{ range .alerts }}{{ .status }}{{ end }}"
rules:
  - {name: a, when: 'labels.severity == "critical"', to: [ops], at: [al], template: t}
  - {name: b, to_expr: '"ops"'}
`

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// shownConfig is a config the repository shows a user: a file, a README
// block or a manifest's ConfigMap. Each must pass check as written.
type shownConfig struct {
	where string // for failures: file and block
	text  string
}

// TestShownConfigsCheck runs check on every config the repository shows:
// rules.example.yaml, the README's config blocks and the Kubernetes
// ConfigMap, with every ${VAR} they use set as a user would set it.
func TestShownConfigsCheck(t *testing.T) {
	var shown []shownConfig
	example, err := os.ReadFile("rules.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, shownConfig{"rules.example.yaml", string(example)})
	shown = append(shown, readmeConfigs(t, "README.md")...)
	manifests, _ := filepath.Glob("deploy/kubernetes/*.yaml")
	for _, m := range manifests {
		shown = append(shown, configMaps(t, m)...)
	}
	if len(shown) < 4 {
		t.Fatalf("found %d configs to check; want rules.example.yaml, README's and the ConfigMap's", len(shown))
	}
	for _, c := range shown {
		t.Run(c.where, func(t *testing.T) {
			setVars(t, c.text)
			path := filepath.Join(t.TempDir(), "rules.yaml")
			if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			if code := run([]string{"check", "-config", path}, &stdout, &stderr); code != 0 {
				t.Fatalf("check exited %d:\n%s%s\nconfig:\n%s", code, stdout.String(), stderr.String(), c.text)
			}
		})
	}
}

// readmeConfigs returns the ```yaml blocks of a Markdown file that are
// gewe-bridge configs (they have a top-level rules: or sources: key), not
// fragments or other programs' configs.
func readmeConfigs(t *testing.T, file string) []shownConfig {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []shownConfig
	blocks := regexp.MustCompile("(?ms)^```yaml\n(.*?)^```").FindAllSubmatchIndex(b, -1)
	for _, m := range blocks {
		text := string(b[m[2]:m[3]])
		if !regexp.MustCompile(`(?m)^(rules|sources):`).MatchString(text) {
			continue
		}
		line := 1 + bytes.Count(b[:m[0]], []byte("\n"))
		out = append(out, shownConfig{file + ":" + itoa(line), text})
	}
	return out
}

// configMaps returns the rules.yaml of every ConfigMap in a manifest.
func configMaps(t *testing.T, file string) []shownConfig {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []shownConfig
	dec := yaml.NewDecoder(f)
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc.Kind == "ConfigMap" && doc.Data["rules.yaml"] != "" {
			out = append(out, shownConfig{file + ":ConfigMap", doc.Data["rules.yaml"]})
		}
	}
}

// setVars sets every ${VAR} a config uses to a value of the right shape.
func setVars(t *testing.T, text string) {
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(text, -1) {
		name := m[1]
		switch {
		case name == "STORAGE_URL":
			t.Setenv(name, "postgres://gewe:secret@postgres:5432/gewe?sslmode=disable")
		case strings.HasSuffix(name, "_URL"):
			t.Setenv(name, "http://127.0.0.1:2531")
		case name == "GEWE_APP_ID":
			t.Setenv(name, "wx_test_app")
		case strings.HasSuffix(name, "_DRY_RUN"):
			t.Setenv(name, "false")
		case name == "GEWE_API":
			t.Setenv(name, "v2")
		case name == "LISTEN":
			t.Setenv(name, ":8080")
		case name == "STORAGE_PATH":
			t.Setenv(name, filepath.Join(t.TempDir(), "bridge.db"))
		case strings.HasSuffix(name, "_GROUP"):
			t.Setenv(name, "11111111@chatroom")
		default:
			t.Setenv(name, "test-"+strings.ToLower(name))
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

package rules_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

func TestStorageURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // the error, "" for none
	}{
		{"postgres://bridge:s3cret@db:5432/gewe?sslmode=require", ""},
		{"postgresql://bridge@db/gewe", ""},
		{"mysql://bridge:s3cret@db/gewe", `rules.yaml:1:16: storage.url: must be a postgres:// URL, not mysql://`},
		{"postgres://bridge:s3cret@/gewe", `rules.yaml:1:16: storage.url: has no host (postgres://user:password@host:5432/database)`},
		{"postgres://bridge:s3cret@db:5432", `rules.yaml:1:16: storage.url: has no database name (postgres://user:password@host:5432/database)`},
		{"postgres://bridge:s3cret@db:5432/gewe%zz", `rules.yaml:1:16: storage.url: is not a URL (postgres://user:password@host:5432/database?sslmode=require)`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			errs, _ := problemStrings(t, `storage: {url: "`+tt.url+`"}`+"\n"+base+"  - {name: r, to: [ops]}\n", nil, config.ForceDryRun())
			if tt.want == "" {
				assert.Empty(t, errs)
				return
			}
			require.Equal(t, []string{tt.want}, errs)
			assert.NotContains(t, errs[0], "s3cret")
		})
	}
	rs, probs := rules.Load([]byte(`storage: {url: "${PG_URL}"}`+"\n"+base+"  - {name: r, to: [ops]}\n"), "rules.yaml",
		func(string) string { return "postgres://u:p@db/gewe" }, config.ForceDryRun())
	require.NoError(t, probs.Err())
	assert.Equal(t, config.Secret("postgres://u:p@db/gewe"), rs.Config().Storage.URL, "from the environment, as a Kubernetes Secret gives it")
}

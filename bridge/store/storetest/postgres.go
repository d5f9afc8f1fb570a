package storetest

import (
	"os"
	"testing"
)

// PostgresEnv names the variable that holds the URL of a PostgreSQL the
// tests may create schemas in (.ci/run starts a throwaway one).
const PostgresEnv = "GEWE_BRIDGE_TEST_POSTGRES_URL"

// PostgresURL returns the test database's URL. Without one the test is
// skipped, except in CI (CI=true), where the PostgreSQL tests must run.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(PostgresEnv)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: in CI the PostgreSQL tests must run (.ci/run starts one)", PostgresEnv)
		}
		t.Skipf("%s is not set: no PostgreSQL to test against", PostgresEnv)
	}
	return url
}

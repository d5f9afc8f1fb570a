package ui

import "testing"

// TestLoginFailuresPerAddress: one address guessing is locked out for the
// minute; another can still log in (the count was global: anyone could
// lock the admins out).
func TestLoginFailuresPerAddress(t *testing.T) {
	c := New(nil)
	for range failedLogins {
		if !c.mayTryLogin("10.0.0.1") {
			t.Fatal("locked out before the limit")
		}
		c.failedLogin("10.0.0.1")
	}
	if c.mayTryLogin("10.0.0.1") {
		t.Error("the guessing address may go on")
	}
	if !c.mayTryLogin("10.0.0.2") {
		t.Error("another address is locked out too")
	}
}

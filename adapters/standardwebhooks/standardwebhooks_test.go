package standardwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
)

// The specification's published vector (standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go TestWebhookSign; the same in every library).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// A well-formed signature of something else, from the same tests.
	otherSignature = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

var vectorTime = time.Unix(vectorTimestamp, 0)

func vectorHeaders() map[string]string {
	return map[string]string{
		IDHeader:        vectorID,
		TimestampHeader: strconv.Itoa(vectorTimestamp),
		SignatureHeader: vectorSignature,
	}
}

// sign is the specification's signature of id.ts.body with secret.
func sign(t *testing.T, secret, id string, ts int64, body string) string {
	key, err := DecodeSecret(secret)
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func requireUnauthorized(t *testing.T, err error) {
	t.Helper()
	var e *adapters.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, adapters.Unauthorized, e.Kind, e.Msg)
	assert.NotContains(t, e.Msg, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	assert.NotContains(t, e.Msg, "g0hM9SsE")
}

func TestVector(t *testing.T) {
	assert.Equal(t, vectorSignature, sign(t, vectorSecret, vectorID, vectorTimestamp, vectorBody))
	require.NoError(t, Verify(vectorSecret, vectorHeaders(), []byte(vectorBody), vectorTime, 0))
	// The prefix is optional, as in the reference libraries.
	require.NoError(t, Verify(strings.TrimPrefix(vectorSecret, "whsec_"), vectorHeaders(), []byte(vectorBody), vectorTime, 0))
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name   string
		change func(h map[string]string)
		body   string
		now    time.Time
		tol    time.Duration
		ok     bool
	}{
		{"valid", nil, vectorBody, vectorTime, 0, true},
		{"several signatures, one valid", func(h map[string]string) {
			h[SignatureHeader] = otherSignature + " v2," + vectorSignature[3:] + " " + vectorSignature + " " + otherSignature
		}, vectorBody, vectorTime, 0, true},
		{"extra white space between entries", func(h map[string]string) {
			h[SignatureHeader] = otherSignature + "   " + vectorSignature
		}, vectorBody, vectorTime, 0, true},
		{"other signature", func(h map[string]string) { h[SignatureHeader] = otherSignature }, vectorBody, vectorTime, 0, false},
		{"right signature under another version", func(h map[string]string) { h[SignatureHeader] = "v2," + vectorSignature[3:] }, vectorBody, vectorTime, 0, false},
		{"asymmetric version only", func(h map[string]string) { h[SignatureHeader] = "v1a," + vectorSignature[3:] }, vectorBody, vectorTime, 0, false},
		{"no version", func(h map[string]string) { h[SignatureHeader] = vectorSignature[3:] }, vectorBody, vectorTime, 0, false},
		{"not base64", func(h map[string]string) { h[SignatureHeader] = "v1,!!!!" }, vectorBody, vectorTime, 0, false},
		{"truncated signature", func(h map[string]string) { h[SignatureHeader] = vectorSignature[:len(vectorSignature)-4] }, vectorBody, vectorTime, 0, false},
		{"body changed", nil, `{"test": 2432232315}`, vectorTime, 0, false},
		{"body with trailing newline", nil, vectorBody + "\n", vectorTime, 0, false},
		{"other id", func(h map[string]string) { h[IDHeader] = "msg_other" }, vectorBody, vectorTime, 0, false},
		{"other timestamp", func(h map[string]string) { h[TimestampHeader] = strconv.Itoa(vectorTimestamp + 1) }, vectorBody, vectorTime.Add(time.Second), 0, false},
		{"missing id", func(h map[string]string) { delete(h, IDHeader) }, vectorBody, vectorTime, 0, false},
		{"missing timestamp", func(h map[string]string) { delete(h, TimestampHeader) }, vectorBody, vectorTime, 0, false},
		{"missing signature", func(h map[string]string) { delete(h, SignatureHeader) }, vectorBody, vectorTime, 0, false},
		{"empty signature", func(h map[string]string) { h[SignatureHeader] = " " }, vectorBody, vectorTime, 0, false},
		{"timestamp not a number", func(h map[string]string) { h[TimestampHeader] = "2021-02-25T15:02:10Z" }, vectorBody, vectorTime, 0, false},
		{"timestamp in milliseconds", func(h map[string]string) { h[TimestampHeader] = strconv.Itoa(vectorTimestamp * 1000) }, vectorBody, vectorTime, 0, false},
		{"timestamp overflows", func(h map[string]string) { h[TimestampHeader] = "99999999999999999999" }, vectorBody, vectorTime, 0, false},
		{"id too long", func(h map[string]string) { h[IDHeader] = strings.Repeat("m", 300) }, vectorBody, vectorTime, 0, false},
		// The tolerance, both ways, at its edges.
		{"5 minutes late", nil, vectorBody, vectorTime.Add(5 * time.Minute), 0, true},
		{"5 minutes 1 second late: a replay", nil, vectorBody, vectorTime.Add(5*time.Minute + time.Second), 0, false},
		{"a day late: a replay", nil, vectorBody, vectorTime.Add(24 * time.Hour), 0, false},
		{"5 minutes early", nil, vectorBody, vectorTime.Add(-5 * time.Minute), 0, true},
		{"5 minutes 1 second early", nil, vectorBody, vectorTime.Add(-5*time.Minute - time.Second), 0, false},
		{"1 minute tolerance, 2 minutes late", nil, vectorBody, vectorTime.Add(2 * time.Minute), time.Minute, false},
		{"1 hour tolerance, 30 minutes late", nil, vectorBody, vectorTime.Add(30 * time.Minute), time.Hour, true},
		{"negative tolerance is the default", nil, vectorBody, vectorTime.Add(4 * time.Minute), -time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := vectorHeaders()
			if tt.change != nil {
				tt.change(h)
			}
			err := Verify(vectorSecret, h, []byte(tt.body), tt.now, tt.tol)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			requireUnauthorized(t, err)
		})
	}
}

// A request signed now is accepted now, and the same request replayed
// after the tolerance is refused: within it, only webhook-id tells.
func TestReplay(t *testing.T) {
	const secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHM="
	now := time.Date(2026, 5, 12, 8, 25, 0, 0, time.UTC)
	body := `{"type":"invoice.paid","data":{"id":"in_1"}}`
	h := map[string]string{
		IDHeader:        "msg_2xyz",
		TimestampHeader: strconv.FormatInt(now.Unix(), 10),
		SignatureHeader: sign(t, secret, "msg_2xyz", now.Unix(), body),
	}
	require.NoError(t, Verify(secret, h, []byte(body), now, 0))
	require.NoError(t, Verify(secret, h, []byte(body), now.Add(time.Minute), 0), "a retry within the tolerance: de-duplicated on webhook-id")
	requireUnauthorized(t, Verify(secret, h, []byte(body), now.Add(10*time.Minute), 0))

	// A fresh timestamp on the old signature does not help.
	h[TimestampHeader] = strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10)
	requireUnauthorized(t, Verify(secret, h, []byte(body), now.Add(10*time.Minute), 0))
}

func TestSecrets(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_not base64!", "   "} {
		_, err := DecodeSecret(s)
		assert.Error(t, err, "%q", s)
		err = Verify(s, vectorHeaders(), []byte(vectorBody), vectorTime, 0)
		require.Error(t, err)
		var e *adapters.Error
		assert.False(t, errors.As(err, &e), "a bad secret is the config's fault, not the sender's")
	}
	key, err := DecodeSecret(" " + vectorSecret + " ")
	require.NoError(t, err)
	assert.Len(t, key, 24)
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, []byte(vectorBody))
	f.Add(vectorID, "-1", otherSignature+" "+vectorSignature, []byte(vectorBody))
	f.Add("", "1e9", "v1,", []byte{})
	f.Add("msg", "99999999999999999999", "v1a,xx v1,==", []byte("\xff"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := map[string]string{IDHeader: id, TimestampHeader: ts, SignatureHeader: sig}
		err := Verify(vectorSecret, h, body, vectorTime, 0)
		if err == nil {
			// Only the vector itself can pass: anything else would be a forgery.
			if strings.TrimSpace(id) != vectorID || string(body) != vectorBody {
				t.Fatalf("accepted id %q body %q", id, body)
			}
			return
		}
		var e *adapters.Error
		if !errors.As(err, &e) || e.Kind != adapters.Unauthorized {
			t.Fatalf("error %v (%T) is not an Unauthorized *adapters.Error", err, err)
		}
	})
}

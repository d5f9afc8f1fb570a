package outbox

import (
	"context"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Callback states.
const (
	CallbackPending = "pending"
	CallbackDone    = "done"
)

// Callback is one incoming WeChat message GeWe called back with, kept
// from the moment it is answered until its command is carried out.
type Callback struct {
	ID         int64     `json:"id"`
	Source     string    `json:"source"`
	AppID      string    `json:"app_id"`
	NewMsgID   int64     `json:"new_msg_id,string"` // above 2^53
	ReceivedAt time.Time `json:"received_at"`
	Raw        []byte    `json:"-"`
	State      string    `json:"state"`
	Outcome    Command   `json:"outcome"`
}

// Command is what came of a callback: who asked what in which chat, and
// the outcome (silenced, unsilenced, acked, listed, help, refused,
// unknown_message, no_quote, failed...), with the reply sent.
type Command struct {
	Chat    string    `json:"chat,omitempty"`    // the group or person it came from
	Author  string    `json:"author,omitempty"`  // the wxid of who wrote it
	Contact string    `json:"contact,omitempty"` // their contact name, if any
	Command string    `json:"command,omitempty"` // silence, ack, unsilence, silences, help
	Text    string    `json:"text,omitempty"`    // what they wrote
	Quoted  int64     `json:"quoted,omitempty,string"`
	Result  string    `json:"result,omitempty"`
	Detail  string    `json:"detail,omitempty"` // silence ids, the error
	Reply   string    `json:"reply,omitempty"`
	DoneAt  time.Time `json:"done_at,omitzero"`
}

// ChatOps is what a store adds for chat-ops: the ids GeWe gave the
// messages sent (with the alerts they carried), and the callbacks. The
// SQLite and PostgreSQL stores implement it; a store that does not runs
// without chat-ops.
type ChatOps interface {
	// SentAs records that the message GeWe calls newMsgID carried the
	// outbox messages ids (several when they were coalesced).
	SentAs(ctx context.Context, account string, newMsgID int64, ids []int64, at time.Time) error
	// SentAlerts returns the alerts carried by the message GeWe calls
	// newMsgID; none when it is unknown or carried no alert.
	SentAlerts(ctx context.Context, account string, newMsgID int64) ([]event.AlertRef, error)
	// AcceptCallback stores a pending callback; ErrDuplicate when one
	// with its AppID and NewMsgID was stored before.
	AcceptCallback(ctx context.Context, cb *Callback) error
	// PendingCallbacks returns up to limit pending callbacks, oldest first.
	PendingCallbacks(ctx context.Context, limit int) ([]Callback, error)
	// CallbackDone records the outcome and ends the callback.
	CallbackDone(ctx context.Context, id int64, c Command) error
	// Callbacks returns the newest callbacks first, ids below before (0:
	// from the newest), for the console's history.
	Callbacks(ctx context.Context, before int64, limit int) ([]Callback, error)
}

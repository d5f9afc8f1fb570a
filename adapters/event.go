package adapters

// MaxEventName bounds an event name taken from a header.
const MaxEventName = 64

// EventName checks an event name a sender put in header (X-GitHub-Event,
// X-Event), already trimmed: at most MaxEventName bytes of A-Z a-z 0-9
// and _ . : / -. Anything else can never name a real event, and would
// reach logs, traces and metric labels (where invalid UTF-8 panics), so
// it is refused as Malformed. The value is not echoed.
func EventName(header, name string) error {
	if len(name) > MaxEventName {
		return Errorf(Malformed, "%s is longer than %d bytes", header, MaxEventName)
	}
	for i := 0; i < len(name); i++ {
		if !eventByte(name[i]) {
			return Errorf(Malformed, "%s may contain only A-Z a-z 0-9 _ . : / - (byte %d is not one of them)", header, i+1)
		}
	}
	return nil
}

func eventByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '_', '.', ':', '/', '-':
		return true
	}
	return false
}

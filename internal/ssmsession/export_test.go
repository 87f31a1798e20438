package ssmsession

// DropConnection closes the WebSocket under f as a network fault would.
func DropConnection(f *Forwarder) { f.s.ch.dropConnection() }

package awsemu

import "net/http"

// STUB — replaced by the admin API.
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }

package awsemu

// STUB — replaced by the SSM implementation.

type ssmState struct{}

func newSSMState() *ssmState { return &ssmState{} }

// cancelAllLocked kills every running command process (Reset, Close).
func (s *ssmState) cancelAllLocked() {}

var ssmOps = map[string]jsonHandler{}

package awsemu

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Authorization of the session operations (Service Authorization Reference,
// Systems Manager: StartSession on the instance and on the Session document;
// ResumeSession and TerminateSession on the session,
// arn:<partition>:ssm:<region>:<account>:session/<session id>; DescribeSessions
// and GetConnectionStatus have no resource type). StartSession without a
// DocumentName is authorized against the default document
// SSM-SessionManagerRunShell (an account document) and sets
// ssm:SessionDocumentAccessCheck to true (notes/aws-behaviour.md#session-manager-sessions).
func (e *Emulator) sessionResourcesLocked(action string, body []byte) []authzResource {
	p := e.partition()
	var in struct {
		Target       string `json:"Target"`
		DocumentName string `json:"DocumentName"`
		SessionID    string `json:"SessionId"`
	}
	_ = json.Unmarshal(body, &in)
	if action != "ssm:StartSession" {
		return []authzResource{{arn: fmt.Sprintf("arn:%s:ssm:%s:%s:session/%s", p, e.opts.Region, e.opts.AccountID, in.SessionID)}}
	}
	var ctx map[string]string
	doc := in.DocumentName
	if doc == "" {
		doc = defaultSessionDocument
		ctx = map[string]string{"ssm:SessionDocumentAccessCheck": "true"}
	}
	inst := authzResource{arn: fmt.Sprintf("arn:%s:ec2:%s:%s:instance/%s", p, e.opts.Region, e.opts.AccountID, in.Target), ctx: ctx}
	if i := e.ec2.instances[in.Target]; i != nil {
		inst.tags = i.Tags
	}
	docRes := authzResource{ctx: ctx}
	if strings.HasPrefix(doc, "arn:") {
		docRes.arn = doc
	} else {
		account := e.opts.AccountID
		if _, ok := builtinSessionDocs[doc]; ok {
			account = ""
		}
		docRes.arn = fmt.Sprintf("arn:%s:ssm:%s:%s:document/%s", p, e.opts.Region, account, doc)
		if d := e.ssm.docs[doc]; d != nil {
			docRes.tags = ssmTagMap(d.Tags)
		}
	}
	return []authzResource{inst, docRes}
}

package awsemu

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestSSMDocuments(t *testing.T) {
	t.Parallel()
	_, cl := newSSMTest(t, Options{})
	ctx := t.Context()
	// Built-ins.
	d, err := cl.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("AWS-RunShellScript")})
	if err != nil || aws.ToString(d.Document.Owner) != "Amazon" || len(d.Document.Parameters) != 3 || d.Document.DocumentType != ssmtypes.DocumentTypeCommand {
		t.Fatalf("builtin: %v %+v", err, d)
	}
	g, err := cl.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("AWS-RunPowerShellScript")})
	if err != nil || !strings.Contains(aws.ToString(g.Content), "aws:runPowerShellScript") {
		t.Fatalf("GetDocument builtin: %v", err)
	}
	// Session document lifecycle.
	v1 := `{"schemaVersion":"1.0","description":"prefs","sessionType":"Standard_Stream","inputs":{"idleSessionTimeout":"20"}}`
	v2 := `{"schemaVersion":"1.0","description":"prefs","sessionType":"Standard_Stream","inputs":{"idleSessionTimeout":"30"}}`
	cr, err := cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("SSM-SessionManagerRunShell"), Content: aws.String(v1), DocumentType: ssmtypes.DocumentTypeSession, DocumentFormat: ssmtypes.DocumentFormatJson})
	if err != nil || aws.ToString(cr.DocumentDescription.DocumentVersion) != "1" || cr.DocumentDescription.Status != ssmtypes.DocumentStatusActive {
		t.Fatalf("create: %v", err)
	}
	_, err = cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("SSM-SessionManagerRunShell"), Content: aws.String(v1), DocumentType: ssmtypes.DocumentTypeSession})
	var exists *ssmtypes.DocumentAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("exists: %v", err)
	}
	_, err = cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("Broken"), Content: aws.String("{not json"), DocumentType: ssmtypes.DocumentTypeSession})
	var bad *ssmtypes.InvalidDocumentContent
	if !errors.As(err, &bad) {
		t.Fatalf("bad content: %v", err)
	}
	_, err = cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("BadSessionType"), Content: aws.String(`{"schemaVersion":"1.0","sessionType":"Shell"}`), DocumentType: ssmtypes.DocumentTypeSession})
	if !errors.As(err, &bad) {
		t.Fatalf("unknown sessionType: %v", err)
	}
	_, err = cl.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("SSM-SessionManagerRunShell"), Content: aws.String(v1), DocumentVersion: aws.String("$LATEST")})
	var dup *ssmtypes.DuplicateDocumentContent
	if !errors.As(err, &dup) {
		t.Fatalf("duplicate content: %v", err)
	}
	up, err := cl.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String("SSM-SessionManagerRunShell"), Content: aws.String(v2), DocumentVersion: aws.String("$LATEST")})
	if err != nil || aws.ToString(up.DocumentDescription.DocumentVersion) != "2" || aws.ToString(up.DocumentDescription.DefaultVersion) != "1" {
		t.Fatalf("update: %v", err)
	}
	g, _ = cl.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("SSM-SessionManagerRunShell")})
	if aws.ToString(g.Content) != v1 {
		t.Fatal("default version must still be 1")
	}
	if _, err := cl.UpdateDocumentDefaultVersion(ctx, &ssm.UpdateDocumentDefaultVersionInput{Name: aws.String("SSM-SessionManagerRunShell"), DocumentVersion: aws.String("2")}); err != nil {
		t.Fatal(err)
	}
	g, _ = cl.GetDocument(ctx, &ssm.GetDocumentInput{Name: aws.String("SSM-SessionManagerRunShell")})
	if aws.ToString(g.Content) != v2 || aws.ToString(g.DocumentVersion) != "2" {
		t.Fatal("default version must now be 2")
	}
	_, err = cl.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("SSM-SessionManagerRunShell"), DocumentVersion: aws.String("9")})
	var iv *ssmtypes.InvalidDocumentVersion
	if !errors.As(err, &iv) {
		t.Fatalf("missing version: %v", err)
	}
	ld, err := cl.ListDocuments(ctx, &ssm.ListDocumentsInput{Filters: []ssmtypes.DocumentKeyValuesFilter{{Key: aws.String("Owner"), Values: []string{"Self"}}}})
	if err != nil || len(ld.DocumentIdentifiers) != 1 || ld.DocumentIdentifiers[0].DocumentType != ssmtypes.DocumentTypeSession {
		t.Fatalf("list: %v %+v", err, ld)
	}
	if _, err := cl.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String("SSM-SessionManagerRunShell")}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String("SSM-SessionManagerRunShell")})
	var id *ssmtypes.InvalidDocument
	if !errors.As(err, &id) {
		t.Fatalf("deleted: %v", err)
	}
	// A Session document cannot be sent as a command.
	if _, err := cl.CreateDocument(ctx, &ssm.CreateDocumentInput{Name: aws.String("MySession"), Content: aws.String(v1), DocumentType: ssmtypes.DocumentTypeSession}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("MySession"), InstanceIds: []string{"i-0123456789abcdef0"}})
	if !errors.As(err, &id) {
		t.Fatalf("session doc sent: %v", err)
	}
}

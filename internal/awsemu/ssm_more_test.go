package awsemu

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func TestSSMDescribeInstanceInformation(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ctx := context.Background()
	a := onlineInstances(t, e, InstanceSpec{Count: 12, Tags: map[string]string{"team": "a"}})
	b := onlineInstances(t, e, InstanceSpec{Count: 3, Tags: map[string]string{"team": "b"}, Platform: "Windows"})
	noRole, _ := e.AddInstances(InstanceSpec{Count: 2}) // never registers
	stopped := a[11]
	if err := e.SetInstanceState(stopped, StateStopped); err != nil {
		t.Fatal(err)
	}

	// Unfiltered paging with the default page size of 10.
	var all []ssmtypes.InstanceInformation
	pages := 0
	p := ssm.NewDescribeInstanceInformationPaginator(cl, &ssm.DescribeInstanceInformationInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, out.InstanceInformationList...)
	}
	if len(all) != 14 || pages != 2 {
		t.Fatalf("%d instances in %d pages, want 14 in 2", len(all), pages)
	}
	seen := map[string]ssmtypes.InstanceInformation{}
	for _, ii := range all {
		seen[*ii.InstanceId] = ii
	}
	for _, id := range append(noRole, stopped) {
		if _, ok := seen[id]; ok {
			t.Fatalf("%s must not be listed", id)
		}
	}
	w := seen[b[0]]
	if w.PingStatus != ssmtypes.PingStatusOnline || w.PlatformType != ssmtypes.PlatformTypeWindows || w.ResourceType != ssmtypes.ResourceTypeEc2Instance ||
		aws.ToString(w.AgentVersion) == "" || w.LastPingDateTime == nil || w.RegistrationDate == nil || w.SourceType != ssmtypes.SourceTypeAwsEc2Instance ||
		aws.ToString(w.IPAddress) == "" || aws.ToString(w.ComputerName) == "" {
		t.Fatalf("fields %+v", w)
	}

	// Filtered by tag with MaxResults 5: pages are cut before filtering, so the
	// first two pages are empty while NextToken is set.
	var got []string
	var sawEmpty bool
	var token *string
	for {
		out, err := cl.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5), NextToken: token,
			Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("tag:team"), Values: []string{"b"}}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.InstanceInformationList) == 0 && out.NextToken != nil {
			sawEmpty = true
		}
		for _, ii := range out.InstanceInformationList {
			got = append(got, *ii.InstanceId)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	if !sawEmpty || strings.Join(got, ",") != strings.Join(b, ",") {
		t.Fatalf("tag filter: %v (empty page seen %v), want %v", got, sawEmpty, b)
	}

	// Legacy filter list and the new filters.
	list := func(in *ssm.DescribeInstanceInformationInput) []string {
		t.Helper()
		in.MaxResults = aws.Int32(50)
		out, err := cl.DescribeInstanceInformation(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, ii := range out.InstanceInformationList {
			ids = append(ids, *ii.InstanceId)
		}
		return ids
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyInstanceIds, ValueSet: []string{a[0], b[1], noRole[0]}}}}); len(ids) != 2 {
		t.Fatalf("legacy InstanceIds: %v", ids)
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyPlatformTypes, ValueSet: []string{"Windows"}}}}); len(ids) != 3 {
		t.Fatalf("legacy PlatformTypes: %v", ids)
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}, {Key: aws.String("PlatformTypes"), Values: []string{"Linux"}}}}); len(ids) != 11 {
		t.Fatalf("PingStatus+PlatformTypes: %d", len(ids))
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("tag-key"), Values: []string{"team"}}}}); len(ids) != 14 {
		t.Fatalf("tag-key: %d", len(ids))
	}
	// A stopped agent shows ConnectionLost.
	if err := e.SetAgentStopped(a[0], true); err != nil {
		t.Fatal(err)
	}
	if ids := list(&ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"ConnectionLost"}}}}); len(ids) != 1 || ids[0] != a[0] {
		t.Fatalf("ConnectionLost: %v", ids)
	}

	// Errors.
	errCases := []struct {
		name string
		in   *ssm.DescribeInstanceInformationInput
		code string
	}{
		{"MaxResults 51", &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(51)}, "ValidationException"},
		{"MaxResults 4", &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(4)}, "ValidationException"},
		{"both lists", &ssm.DescribeInstanceInformationInput{
			InstanceInformationFilterList: []ssmtypes.InstanceInformationFilter{{Key: ssmtypes.InstanceInformationFilterKeyPingStatus, ValueSet: []string{"Online"}}},
			Filters:                       []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}}}, "InvalidInstanceInformationFilterValue"},
		{"tag with other", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{
			{Key: aws.String("tag:team"), Values: []string{"a"}}, {Key: aws.String("PingStatus"), Values: []string{"Online"}}}}, "InvalidInstanceInformationFilterValue"},
		{"bad instance id", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: []string{"i-bad"}}}}, "InvalidInstanceId"},
		{"bad ping status", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Sleepy"}}}}, "InvalidInstanceInformationFilterValue"},
		{"bad key", &ssm.DescribeInstanceInformationInput{Filters: []ssmtypes.InstanceInformationStringFilter{{Key: aws.String("Colour"), Values: []string{"x"}}}}, "InvalidFilterKey"},
		{"bad token", &ssm.DescribeInstanceInformationInput{NextToken: aws.String("nope")}, "InvalidNextToken"},
	}
	for _, tc := range errCases {
		_, err := cl.DescribeInstanceInformation(ctx, tc.in)
		if got := ssmAPICode(err); got != tc.code {
			t.Errorf("%s: code %q, want %q (%v)", tc.name, got, tc.code, err)
		}
	}
	_, err := cl.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(51)})
	if err == nil || !strings.Contains(err.Error(), "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50") {
		t.Fatalf("message: %v", err)
	}
}

func TestSSMDocuments(t *testing.T) {
	t.Parallel()
	_, cl := newSSMTest(t, Options{})
	ctx := context.Background()
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

func TestSSMResetKillsProcesses(t *testing.T) {
	t.Parallel()
	e, cl := newSSMTest(t, Options{})
	ids := onlineInstances(t, e, InstanceSpec{Count: 1})
	dir := e.instanceDir(ids[0])
	send(t, cl, &ssm.SendCommandInput{InstanceIds: ids, Parameters: shell("echo $$ > sleep.pid", "exec sleep 30")})
	pid := waitPidFile(t, dir+"/sleep.pid")
	e.Reset()
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatal("Reset left the process running")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		if running, _ := e.ProcessStats(); running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("process count not back to 0")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/awsemu"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/emutest"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/sessionprefs"
)

// defaultDocJSON reads the default version of a document through the SDK.
func defaultDocJSON(e *awsemu.Emulator, name string) (map[string]any, *ssm.GetDocumentOutput, error) {
	out, err := ssmClient(e).GetDocument(context.Background(), &ssm.GetDocumentInput{Name: aws.String(name)})
	if err != nil {
		return nil, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Content)), &m); err != nil {
		return nil, nil, fmt.Errorf("content of %s is not JSON: %w", name, err)
	}
	return m, out, nil
}

// checkDocInputs asserts the whole document as Session Manager reads it.
func checkDocInputs(e *awsemu.Emulator, name string, inputs map[string]any) resource.TestCheckFunc {
	return func(*terraform.State) error {
		got, out, err := defaultDocJSON(e, name)
		if err != nil {
			return err
		}
		if out.DocumentType != ssmtypes.DocumentTypeSession {
			return fmt.Errorf("document type %s, want Session", out.DocumentType)
		}
		want := map[string]any{"schemaVersion": "1.0", "description": sessionprefs.Description, "sessionType": "Standard_Stream", "inputs": inputs}
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("document %s content\n%v\nwant\n%v", name, got, want)
		}
		return nil
	}
}

func checkDocGone(e *awsemu.Emulator, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, err := sessionprefs.Find(context.Background(), ssmClient(e), name, "")
		if err == nil {
			return fmt.Errorf("document %s still exists", name)
		}
		if !sessionprefs.IsNotFound(err) {
			return err
		}
		return nil
	}
}

const fullPrefs = `
resource "ssm_session_preferences" "test" {
  s3_bucket_name                = "session-logs"
  s3_key_prefix                 = "sessions/"
  s3_encryption_enabled         = true
  cloudwatch_log_group_name     = "/ssm/sessions"
  cloudwatch_encryption_enabled = false
  cloudwatch_streaming_enabled  = false
  kms_key_id                    = "alias/sessions"
  run_as_enabled                = true
  run_as_default_user           = "deploy"
  idle_session_timeout          = 15
  max_session_duration          = 480
  shell_profile = {
    linux   = "exec bash -l"
    windows = "Set-Location C:\\"
  }
}
`

const minimalPrefs = `
resource "ssm_session_preferences" "test" {
  s3_bucket_name = "session-logs"
}
`

func TestAccSessionPreferences_basic(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	const doc = sessionprefs.DefaultDocumentName
	minimalInputs := map[string]any{
		"s3BucketName": "session-logs", "s3KeyPrefix": "", "s3EncryptionEnabled": true,
		"cloudWatchLogGroupName": "", "cloudWatchEncryptionEnabled": true, "cloudWatchStreamingEnabled": true,
		"kmsKeyId": "", "runAsEnabled": false, "runAsDefaultUser": "",
		"idleSessionTimeout": "20", "maxSessionDuration": "",
		"shellProfile": map[string]any{"linux": "", "windows": ""},
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkDocGone(e, doc),
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderConfig(e) + minimalPrefs,
				Check:  checkDocInputs(e, doc, minimalInputs),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("id"), knownvalue.StringExact(doc)),
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("document_version"), knownvalue.StringExact("1")),
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("idle_session_timeout"), knownvalue.Int64Exact(20)),
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("previous_content"), knownvalue.Null()),
				},
			},
			{
				// Every option lands in the document exactly as the schema names and types it.
				Config: acctest.ProviderConfig(e) + fullPrefs,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("ssm_session_preferences.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("content"), knownvalue.StringRegexp(regexp.MustCompile(`"idleSessionTimeout": "15"`))),
				}},
				Check: checkDocInputs(e, doc, map[string]any{
					"s3BucketName": "session-logs", "s3KeyPrefix": "sessions/", "s3EncryptionEnabled": true,
					"cloudWatchLogGroupName": "/ssm/sessions", "cloudWatchEncryptionEnabled": false, "cloudWatchStreamingEnabled": false,
					"kmsKeyId": "alias/sessions", "runAsEnabled": true, "runAsDefaultUser": "deploy",
					"idleSessionTimeout": "15", "maxSessionDuration": "480",
					"shellProfile": map[string]any{"linux": "exec bash -l", "windows": `Set-Location C:\`},
				}),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("document_version"), knownvalue.StringExact("2")),
				},
			},
			{
				ResourceName:      "ssm_session_preferences.test",
				ImportState:       true,
				ImportStateId:     doc,
				ImportStateVerify: true,
				// Import records the document as found, to put it back on destroy.
				ImportStateVerifyIgnore: []string{"previous_version", "previous_content"},
			},
			{
				// Drift: the document is changed outside Terraform; the plan shows it and apply repairs it.
				PreConfig: func() {
					c := ssmClient(e)
					ctx := t.Context()
					edited := sessionprefs.Preferences{S3BucketName: "elsewhere", IdleSessionTimeout: 60}.Content()
					out, err := c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{Name: aws.String(doc), Content: aws.String(edited), DocumentVersion: aws.String("$LATEST")})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.UpdateDocumentDefaultVersion(ctx, &ssm.UpdateDocumentDefaultVersionInput{Name: aws.String(doc), DocumentVersion: out.DocumentDescription.DocumentVersion}); err != nil {
						t.Fatal(err)
					}
				},
				Config: acctest.ProviderConfig(e) + fullPrefs,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("ssm_session_preferences.test", plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("idle_session_timeout"), knownvalue.Int64Exact(15)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					got, out, err := defaultDocJSON(e, doc)
					if err != nil {
						return err
					}
					// The repaired content is version 2's again: SSM refuses duplicate content, so version 2 is the default once more.
					if v := aws.ToString(out.DocumentVersion); v != "2" {
						return fmt.Errorf("default version %s after repair, want 2", v)
					}
					if in, ok := got["inputs"].(map[string]any); !ok || in["idleSessionTimeout"] != "15" || in["s3BucketName"] != "session-logs" {
						return fmt.Errorf("inputs after repair: %v", in)
					}
					return nil
				},
			},
			{
				// Back to fewer options: unset inputs are empty again, not left behind.
				Config: acctest.ProviderConfig(e) + minimalPrefs,
				Check:  checkDocInputs(e, doc, minimalInputs),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// A document deleted outside Terraform: the refresh warns and removes it from
// the state, and the next apply creates it again.
func TestAccSessionPreferences_disappears(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	rec := &acctest.DiagnosticsRecorder{}
	const name = "team-prefs"
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_session_preferences" "test" {
  name                 = %q
  idle_session_timeout = 5
}
`, name)
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: rec.Factories(),
		CheckDestroy:             checkDocGone(e, name),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(*terraform.State) error {
					_, err := ssmClient(e).DeleteDocument(t.Context(), &ssm.DeleteDocumentInput{Name: aws.String(name)})
					return err
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("ssm_session_preferences.test", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					got, _, err := defaultDocJSON(e, name)
					if err != nil {
						return err
					}
					if in, ok := got["inputs"].(map[string]any); !ok || in["idleSessionTimeout"] != "5" {
						return fmt.Errorf("inputs: %v", in)
					}
					return nil
				},
			},
		},
	})
	expectWarning(t, rec, "SSM session preferences (team-prefs) not found, removing from state",
		"The Session document team-prefs does not exist.", "deleted outside Terraform", "the next apply creates it again")
}

// An existing preferences document (as the console creates it) is taken over, and
// destroy puts its content back as the default version instead of deleting it.
func TestAccSessionPreferences_takeOverAndRestore(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	const doc = sessionprefs.DefaultDocumentName
	original := `{"schemaVersion":"1.0","description":"Document to hold regional settings for Session Manager","sessionType":"Standard_Stream","inputs":{"s3BucketName":"console-logs","s3EncryptionEnabled":true,"idleSessionTimeout":"20"}}`
	if _, err := ssmClient(e).CreateDocument(t.Context(), &ssm.CreateDocumentInput{
		Name: aws.String(doc), Content: aws.String(original), DocumentType: ssmtypes.DocumentTypeSession,
	}); err != nil {
		t.Fatal(err)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			d, err := sessionprefs.Find(t.Context(), ssmClient(e), doc, "")
			if err != nil {
				return fmt.Errorf("the taken-over document must survive destroy: %w", err)
			}
			if d.Version != "1" || d.Content != original {
				return fmt.Errorf("after destroy the default is version %s with %s; want version 1 with the original content", d.Version, d.Content)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: acctest.ProviderConfig(e) + fullPrefs,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("previous_version"), knownvalue.StringExact("1")),
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("previous_content"), knownvalue.StringExact(original)),
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("document_version"), knownvalue.StringExact("2")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: acctest.ProviderConfig(e) + minimalPrefs,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("document_version"), knownvalue.StringExact("3")),
					statecheck.ExpectKnownValue("ssm_session_preferences.test", tfjsonpath.New("previous_content"), knownvalue.StringExact(original)),
				},
			},
		},
	})
}

// A document of another type is not taken over.
func TestAccSessionPreferences_wrongDocumentType(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cmd := `{"schemaVersion":"2.2","mainSteps":[{"action":"aws:runShellScript","name":"run","inputs":{"runCommand":["true"]}}]}`
	if _, err := ssmClient(e).CreateDocument(t.Context(), &ssm.CreateDocumentInput{
		Name: aws.String("Deploy"), Content: aws.String(cmd), DocumentType: ssmtypes.DocumentTypeCommand,
	}); err != nil {
		t.Fatal(err)
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: acctest.ProviderConfig(e) + `
resource "ssm_session_preferences" "test" {
  name = "Deploy"
}
`,
			ExpectError: regexp.MustCompile(`(?s)Deploy is a Command document, not a Session document.*choose another name`),
		}},
	})
}

func TestAccSessionPreferences_badInput(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	cases := []struct{ attr, value, want string }{
		{"idle_session_timeout", "0", `(?s)Attribute idle_session_timeout value must be between 1 and 60, got: 0`},
		{"idle_session_timeout", "61", `(?s)Attribute idle_session_timeout value must be between 1 and 60, got: 61`},
		{"max_session_duration", "1441", `(?s)Attribute max_session_duration value must be between 1 and 1440`},
		{"s3_bucket_name", `"Session_Logs"`, `(?s)s3_bucket_name.*"Session_Logs" is not a valid S3 bucket name`},
		{"s3_bucket_name", `"10.0.0.1"`, `(?s)s3_bucket_name.*formatted as an IP address`},
		{"name", `"AWS-MyPrefs"`, `(?s)name.*the prefix "AWS" is\s+reserved\s+by\s+AWS`},
		{"name", `"my prefs"`, `(?s)name.*not a valid SSM document name`},
		{"kms_key_id", `"my-key"`, `(?s)kms_key_id.*not a KMS key identifier`},
		{"cloudwatch_log_group_name", `"bad:name"`, `(?s)cloudwatch_log_group_name.*not a valid CloudWatch Logs group name`},
	}
	var steps []resource.TestStep
	for _, c := range cases {
		steps = append(steps, resource.TestStep{
			Config: acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_session_preferences" "test" {
  %s = %s
}
`, c.attr, c.value),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(c.want, " ", `\s+`)), // the CLI wraps long lines
		})
	}
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps:                    steps,
	})
}

// Import then destroy leaves the account's document as it was before the
// import: the imported version and content are recorded and put back, and the
// plan after import changes the document in place (never a replacement).
func TestAccSessionPreferences_importThenDestroyRestores(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	const doc = sessionprefs.DefaultDocumentName
	// As the console writes it: fewer inputs than the resource writes.
	original := `{"schemaVersion":"1.0","description":"Document to hold regional settings for Session Manager","sessionType":"Standard_Stream","inputs":{"s3BucketName":"console-logs","s3EncryptionEnabled":true,"idleSessionTimeout":"20"}}`
	if _, err := ssmClient(e).CreateDocument(t.Context(), &ssm.CreateDocumentInput{
		Name: aws.String(doc), Content: aws.String(original), DocumentType: ssmtypes.DocumentTypeSession,
	}); err != nil {
		t.Fatal(err)
	}
	addr := "ssm_session_preferences.test"
	// The configuration that says what the document says.
	same := acctest.ProviderConfig(e) + `
resource "ssm_session_preferences" "test" {
  s3_bucket_name = "console-logs"
}
`
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: func(*terraform.State) error {
			d, err := sessionprefs.Find(t.Context(), ssmClient(e), doc, "")
			if err != nil {
				return fmt.Errorf("the imported document must survive destroy: %w", err)
			}
			if d.Version != "1" || d.Content != original {
				return fmt.Errorf("after destroy the default is version %s with %s; want version 1 with the content found at import", d.Version, d.Content)
			}
			return nil
		},
		Steps: []resource.TestStep{
			// An import block: the document is rewritten in the resource's full form, in place.
			{Config: same, ResourceName: addr, ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: doc,
				ExpectNonEmptyPlan: true, ImportPlanChecks: resource.ImportPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}}},
			{Config: same, ResourceName: addr, ImportState: true, ImportStateId: doc, ImportStatePersist: true,
				ImportStateCheck: func(s []*terraform.InstanceState) error {
					if len(s) != 1 || s[0].Attributes["previous_content"] != original || s[0].Attributes["previous_version"] != "1" {
						return fmt.Errorf("import must record the document as found: %v", s)
					}
					return nil
				}},
			{Config: acctest.ProviderConfig(e) + fullPrefs,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("previous_content"), knownvalue.StringExact(original)),
				},
				Check: func(*terraform.State) error {
					got, _, err := defaultDocJSON(e, doc)
					if err != nil {
						return err
					}
					if in, ok := got["inputs"].(map[string]any); !ok || in["s3BucketName"] != "session-logs" {
						return fmt.Errorf("inputs after apply: %v", in)
					}
					return nil
				}},
		},
	})
}

// A document that already says what the configuration says imports with an
// empty plan.
func TestAccSessionPreferences_importNoChange(t *testing.T) {
	e := emutest.Start(t, awsemu.Options{})
	const doc = "team-prefs"
	addr := "ssm_session_preferences.test"
	cfg := acctest.ProviderConfig(e) + fmt.Sprintf(`
resource "ssm_session_preferences" "test" {
  name                 = %q
  s3_bucket_name       = "session-logs"
  idle_session_timeout = 5
}
`, doc)
	content := sessionprefs.Preferences{S3BucketName: "session-logs", S3EncryptionEnabled: true, CloudWatchEncryptionEnabled: true,
		CloudWatchStreamingEnabled: true, IdleSessionTimeout: 5}.Content()
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					if _, err := ssmClient(e).CreateDocument(t.Context(), &ssm.CreateDocumentInput{
						Name: aws.String(doc), Content: aws.String(content), DocumentType: ssmtypes.DocumentTypeSession,
					}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg, ResourceName: addr, ImportState: true, ImportStateKind: resource.ImportBlockWithID, ImportStateId: doc,
			},
		},
	})
	if d, err := sessionprefs.Find(t.Context(), ssmClient(e), doc, ""); err != nil || d.Content != content {
		t.Fatalf("the document must be left as it was: %+v, %v", d, err)
	}
}

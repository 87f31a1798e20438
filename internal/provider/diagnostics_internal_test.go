package provider

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/agentwait"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/poll"
	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// summaryStyleOK: a summary begins with a lower-case word, or an acronym such
// as SSM or IAM (diagnostics.go).
func summaryStyleOK(s string) bool {
	word, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	if word == "" || strings.HasPrefix(word, "%") {
		return true // all of it comes from the arguments, checked where they are written
	}
	first := []rune(word)[0]
	if unicode.IsLower(first) {
		return true
	}
	for _, r := range word {
		if unicode.IsLetter(r) && !unicode.IsUpper(r) {
			return false
		}
	}
	return true
}

// leadingLiteral is the string literal an expression begins with: "x",
// "x"+y, fmt.Sprintf("x", ...), doing("x", ...). ok is false when it begins
// with something else.
func leadingLiteral(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.STRING {
			s, err := strconv.Unquote(e.Value)
			return s, err == nil
		}
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			return leadingLiteral(e.X)
		}
	case *ast.CallExpr:
		if len(e.Args) > 0 {
			return leadingLiteral(e.Args[0])
		}
	case *ast.ParenExpr:
		return leadingLiteral(e.X)
	}
	return "", false
}

// Every summary the provider writes follows the style: the literal text that
// begins each AddError/AddWarning (and attribute variant) summary, and each
// value assigned to a variable named summary.
func TestDiagnostics_summaryStyle(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	check := func(e ast.Expr) {
		s, ok := leadingLiteral(e)
		if !ok {
			return
		}
		checked++
		if !summaryStyleOK(s) {
			t.Errorf("%s: summary %q does not begin in lower case", fset.Position(e.Pos()), s)
		}
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch sel.Sel.Name {
				case "AddError", "AddWarning":
					if len(n.Args) == 2 {
						check(n.Args[0])
					}
				case "AddAttributeError", "AddAttributeWarning":
					if len(n.Args) == 3 {
						check(n.Args[1])
					}
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if id, ok := lhs.(*ast.Ident); ok && strings.Contains(strings.ToLower(id.Name), "summary") && i < len(n.Rhs) {
						check(n.Rhs[i])
					}
				}
			}
			return true
		})
	}
	if checked < 50 {
		t.Errorf("only %d summaries checked: the walk misses most of them", checked)
	}
}

func TestDiagnostics_summaryStyleRule(t *testing.T) {
	for s, want := range map[string]bool{
		"creating SSM instance role (web)":                       true,
		"SSM instance role (web) not found, removing from state": true,
		"invalid ARN":                            true,
		"Invalid import id":                      false,
		"Waiting for SSM agents timed out":       false,
		"%s (%s) not found, removing from state": true,
	} {
		if got := summaryStyleOK(s); got != want {
			t.Errorf("summaryStyleOK(%q) = %v, want %v", s, got, want)
		}
	}
}

// A Read that finds the object gone warns, naming it, and says what happens next.
func TestDiagnostics_notFoundWarning(t *testing.T) {
	var diags diag.Diagnostics
	addNotFoundWarning(&diags, nameInstanceRole, "web", "The IAM role web does not exist.")
	if diags.WarningsCount() != 1 || diags.HasError() {
		t.Fatalf("diagnostics %v, want one warning", diags)
	}
	w := diags.Warnings()[0]
	if got, want := w.Summary(), "SSM instance role (web) not found, removing from state"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	for _, phrase := range []string{"The IAM role web does not exist.", "deleted outside Terraform", "next apply creates it again"} {
		if !strings.Contains(w.Detail(), phrase) {
			t.Errorf("detail %q lacks %q", w.Detail(), phrase)
		}
	}
}

// The engines' errors name no Terraform argument; the provider's diagnostics
// add the advice that does.
func TestDiagnostics_engineErrorsGetArgumentAdvice(t *testing.T) {
	one := func(f func(*diag.Diagnostics)) diag.Diagnostic {
		t.Helper()
		var diags diag.Diagnostics
		f(&diags)
		if len(diags) != 1 {
			t.Fatalf("%d diagnostics, want 1: %v", len(diags), diags)
		}
		return diags[0]
	}
	spec := runcommand.Spec{InstanceIDs: []string{"i-0123456789abcdef0", "i-0123456789abcdef1"}}
	persistent := fmt.Errorf("waiting for command %s: %w", "00000000-0000-0000-0000-000000000000",
		&poll.CallError{Operation: "ListCommands", Err: errors.New("HTTP 500 InternalServerError"), For: 2 * time.Minute})
	cases := []struct {
		name          string
		engine        error
		d             diag.Diagnostic
		summary, want string
	}{
		{"min_count", &agentwait.MinCountError{MinCount: 3, Listed: 2},
			one(func(d *diag.Diagnostics) {
				addAgentWaitError(d, agentwait.Spec{InstanceIDs: spec.InstanceIDs, MinCount: 3}, &agentwait.MinCountError{MinCount: 3, Listed: 2})
			}),
			"waiting for the SSM agents of 2 instances", "min_count 3 is more than the 2 instances instance_ids lists"},
		{"not registered", &runcommand.NotRegisteredError{InstanceIDs: spec.InstanceIDs[:1], Err: errors.New("InvalidInstanceId")},
			one(func(d *diag.Diagnostics) {
				addRunError(d, phaseCreate, spec, &runcommand.NotRegisteredError{InstanceIDs: spec.InstanceIDs[:1], Err: errors.New("InvalidInstanceId")}, false, time.Minute)
			}),
			"running command on 2 instances", "raise agent_wait_timeout"},
		{"output bucket", fmt.Errorf("%w: S3 has no bucket %q", runcommand.ErrOutputBucketMissing, "out"),
			one(func(d *diag.Diagnostics) {
				addRunError(d, phaseDestroy, spec, fmt.Errorf("%w: S3 has no bucket %q", runcommand.ErrOutputBucketMissing, "out"), false, time.Minute)
			}),
			"running destroy commands on 2 instances", "fix output_s3_bucket_name"},
		{"api kept failing", persistent,
			one(func(d *diag.Diagnostics) { addRunError(d, phaseCreate, spec, persistent, false, time.Minute) }),
			"running command on 2 instances", "AWS kept failing for 2m"},
	}
	noProfile := &agentwait.NotReadyError{Total: 1, Missing: []agentwait.Diagnosis{{InstanceID: "i-0123456789abcdef0", Check: "profile",
		Reason: "instance has no IAM instance profile and Default Host Management is off in this account and region"}}}
	cases = append(cases, struct {
		name          string
		engine        error
		d             diag.Diagnostic
		summary, want string
	}{"no identity", noProfile, one(func(d *diag.Diagnostics) { addRunError(d, phaseCreate, spec, noProfile, false, time.Minute) }),
		"running command on 2 instances", "ssm_instance_profile_association give an instance an identity"})
	for _, c := range cases {
		for _, attr := range []string{"min_count", "agent_wait_timeout", "output_s3_bucket_name", "ssm_"} {
			if strings.Contains(c.engine.Error(), attr) {
				t.Errorf("%s: the engine's error names the argument %s: %q", c.name, attr, c.engine.Error())
			}
		}
		if c.d.Summary() != c.summary || !strings.Contains(c.d.Detail(), c.want) {
			t.Errorf("%s: %q / %q, want summary %q and %q in the detail", c.name, c.d.Summary(), c.d.Detail(), c.summary, c.want)
		}
		// The engine's facts stay in the detail (min_count says them in its own words).
		if c.name != "min_count" && !strings.HasPrefix(c.d.Detail(), c.engine.Error()) {
			t.Errorf("%s: detail %q does not begin with the engine's error %q", c.name, c.d.Detail(), c.engine.Error())
		}
	}
}

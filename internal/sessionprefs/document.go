package sessionprefs

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Client is the part of the SSM client this package uses.
type Client interface {
	CreateDocument(context.Context, *ssm.CreateDocumentInput, ...func(*ssm.Options)) (*ssm.CreateDocumentOutput, error)
	GetDocument(context.Context, *ssm.GetDocumentInput, ...func(*ssm.Options)) (*ssm.GetDocumentOutput, error)
	DescribeDocument(context.Context, *ssm.DescribeDocumentInput, ...func(*ssm.Options)) (*ssm.DescribeDocumentOutput, error)
	UpdateDocument(context.Context, *ssm.UpdateDocumentInput, ...func(*ssm.Options)) (*ssm.UpdateDocumentOutput, error)
	UpdateDocumentDefaultVersion(context.Context, *ssm.UpdateDocumentDefaultVersionInput, ...func(*ssm.Options)) (*ssm.UpdateDocumentDefaultVersionOutput, error)
	DeleteDocument(context.Context, *ssm.DeleteDocumentInput, ...func(*ssm.Options)) (*ssm.DeleteDocumentOutput, error)
}

// Document is one version of a document as GetDocument returns it.
type Document struct {
	Name    string
	Version string
	Type    string
	Content string
}

// NotFoundError: the document does not exist (InvalidDocument).
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("SSM document %s does not exist", e.Name) }

// WrongTypeError: the document exists but is not a Session document, so it cannot
// hold Session Manager preferences.
type WrongTypeError struct{ Name, Type string }

func (e *WrongTypeError) Error() string {
	return fmt.Sprintf("SSM document %s is a %s document, not a Session document", e.Name, e.Type)
}

// IsNotFound reports whether err says the document does not exist.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// Find returns a version of the document ("" = the default version).
func Find(ctx context.Context, c Client, name, version string) (*Document, error) {
	in := &ssm.GetDocumentInput{Name: aws.String(name), DocumentFormat: types.DocumentFormatJson}
	if version != "" {
		in.DocumentVersion = aws.String(version)
	}
	out, err := c.GetDocument(ctx, in)
	var inv *types.InvalidDocument
	if errors.As(err, &inv) {
		return nil, &NotFoundError{Name: name}
	}
	if err != nil {
		return nil, fmt.Errorf("reading SSM document %s: %w", name, err)
	}
	return &Document{Name: name, Version: aws.ToString(out.DocumentVersion), Type: string(out.DocumentType), Content: aws.ToString(out.Content)}, nil
}

// PutResult is what Put did.
type PutResult struct {
	// Version is the document's default version, now holding the content.
	Version string
	// Created is true when Put created the document. Otherwise it took over an
	// existing one, whose default version and content were PreviousVersion and
	// PreviousContent.
	Created         bool
	PreviousVersion string
	PreviousContent string
}

// Put makes content the default version of the Session document name: it creates
// the document, or takes over an existing Session document and remembers what it
// held so that Restore can put it back.
func Put(ctx context.Context, c Client, name, content string) (PutResult, error) {
	cur, err := Find(ctx, c, name, "")
	if IsNotFound(err) {
		out, err := c.CreateDocument(ctx, &ssm.CreateDocumentInput{
			Name: aws.String(name), Content: aws.String(content),
			DocumentType: types.DocumentTypeSession, DocumentFormat: types.DocumentFormatJson,
		})
		var exists *types.DocumentAlreadyExists
		if errors.As(err, &exists) {
			// Created between our read and our create: take it over instead.
			return Put(ctx, c, name, content)
		}
		if err != nil {
			return PutResult{}, fmt.Errorf("creating SSM document %s: %w", name, err)
		}
		v := "1"
		if out.DocumentDescription != nil && out.DocumentDescription.DocumentVersion != nil {
			v = aws.ToString(out.DocumentDescription.DocumentVersion)
		}
		return PutResult{Version: v, Created: true}, nil
	}
	if err != nil {
		return PutResult{}, err
	}
	if cur.Type != string(types.DocumentTypeSession) {
		return PutResult{}, &WrongTypeError{Name: name, Type: cur.Type}
	}
	v, err := SetContent(ctx, c, name, content)
	if err != nil {
		return PutResult{}, err
	}
	return PutResult{Version: v, PreviousVersion: cur.Version, PreviousContent: cur.Content}, nil
}

// SetContent makes content the default version of an existing document and
// returns that version. Content equal to the default version changes nothing;
// content equal to another version makes that version the default (UpdateDocument
// refuses content a version already has with DuplicateDocumentContent).
func SetContent(ctx context.Context, c Client, name, content string) (string, error) {
	cur, err := Find(ctx, c, name, "")
	if err != nil {
		return "", err
	}
	if SameContent(cur.Content, content) {
		return cur.Version, nil
	}
	out, err := c.UpdateDocument(ctx, &ssm.UpdateDocumentInput{
		Name: aws.String(name), Content: aws.String(content),
		DocumentVersion: aws.String("$LATEST"), DocumentFormat: types.DocumentFormatJson,
	})
	var dup *types.DuplicateDocumentContent
	var version string
	switch {
	case errors.As(err, &dup):
		version, err = findVersionWithContent(ctx, c, name, content)
		if err != nil {
			return "", err
		}
	case err != nil:
		return "", fmt.Errorf("updating SSM document %s: %w", name, err)
	default:
		if out.DocumentDescription == nil || out.DocumentDescription.DocumentVersion == nil {
			return "", fmt.Errorf("updating SSM document %s: the answer names no new version", name)
		}
		version = aws.ToString(out.DocumentDescription.DocumentVersion)
	}
	if err := setDefault(ctx, c, name, version); err != nil {
		return "", err
	}
	return version, nil
}

func setDefault(ctx context.Context, c Client, name, version string) error {
	_, err := c.UpdateDocumentDefaultVersion(ctx, &ssm.UpdateDocumentDefaultVersionInput{
		Name: aws.String(name), DocumentVersion: aws.String(version),
	})
	if err != nil {
		return fmt.Errorf("making version %s the default of SSM document %s: %w", version, name, err)
	}
	return nil
}

// findVersionWithContent walks the versions from the latest down.
func findVersionWithContent(ctx context.Context, c Client, name, content string) (string, error) {
	out, err := c.DescribeDocument(ctx, &ssm.DescribeDocumentInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describing SSM document %s: %w", name, err)
	}
	latest, _ := strconv.Atoi(aws.ToString(out.Document.LatestVersion))
	for v := latest; v >= 1; v-- {
		d, err := Find(ctx, c, name, strconv.Itoa(v))
		var bad *types.InvalidDocumentVersion
		if errors.As(err, &bad) {
			continue // deleted version
		}
		if err != nil {
			return "", err
		}
		if SameContent(d.Content, content) {
			return d.Version, nil
		}
	}
	return "", fmt.Errorf("updating SSM document %s: SSM reports the content as a duplicate but no version of the document holds it", name)
}

// Restore makes previousContent the default version again: previousVersion when it
// still holds that content, otherwise a new version.
func Restore(ctx context.Context, c Client, name, previousVersion, previousContent string) error {
	if previousVersion != "" {
		d, err := Find(ctx, c, name, previousVersion)
		if err == nil && SameContent(d.Content, previousContent) {
			return setDefault(ctx, c, name, previousVersion)
		}
		if IsNotFound(err) {
			return err
		}
	}
	_, err := SetContent(ctx, c, name, previousContent)
	return err
}

// Delete deletes the document with all its versions. A document already gone is
// not an error.
func Delete(ctx context.Context, c Client, name string) error {
	_, err := c.DeleteDocument(ctx, &ssm.DeleteDocumentInput{Name: aws.String(name)})
	var inv *types.InvalidDocument
	if errors.As(err, &inv) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting SSM document %s: %w", name, err)
	}
	return nil
}

package provider_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/action"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/ephemeral"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/provider"
)

// The README's feature table lists exactly what the provider serves: every
// resource, data source, ephemeral resource and action is in the table, and nothing served is still called
// planned.
func TestReadme_listsWhatTheProviderServes(t *testing.T) {
	ctx := t.Context()
	p := provider.New("test")()
	var meta fwprovider.MetadataResponse
	p.Metadata(ctx, fwprovider.MetadataRequest{}, &meta)
	var served []string
	for _, f := range p.Resources(ctx) {
		var r resource.MetadataResponse
		f().Metadata(ctx, resource.MetadataRequest{ProviderTypeName: meta.TypeName}, &r)
		served = append(served, r.TypeName)
	}
	for _, f := range p.DataSources(ctx) {
		var r datasource.MetadataResponse
		f().Metadata(ctx, datasource.MetadataRequest{ProviderTypeName: meta.TypeName}, &r)
		served = append(served, r.TypeName)
	}
	if pe, ok := p.(fwprovider.ProviderWithEphemeralResources); ok {
		for _, f := range pe.EphemeralResources(ctx) {
			var r ephemeral.MetadataResponse
			f().Metadata(ctx, ephemeral.MetadataRequest{ProviderTypeName: meta.TypeName}, &r)
			served = append(served, r.TypeName)
		}
	}
	pa, ok := p.(fwprovider.ProviderWithActions)
	if !ok {
		t.Fatal("the provider serves no actions")
	}
	for _, f := range pa.Actions(ctx) {
		var r action.MetadataResponse
		f().Metadata(ctx, action.MetadataRequest{ProviderTypeName: meta.TypeName}, &r)
		served = append(served, r.TypeName)
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	table := regexp.MustCompile("(?m)^\\| .*`ssm_[a-z_]+`.*\\|$")
	rows := strings.Join(table.FindAllString(readme, -1), "\n")
	planned := regexp.MustCompile("(?m)^Planned:.*$").FindString(readme)
	for _, name := range served {
		if !strings.Contains(rows, "`"+name+"`") {
			t.Errorf("README's feature table does not list %s", name)
		}
		if strings.Contains(planned, "`"+name+"`") {
			t.Errorf("README calls %s planned, but the provider serves it", name)
		}
	}
	for _, m := range regexp.MustCompile("`(ssm_[a-z_]+)`").FindAllStringSubmatch(rows, -1) {
		found := false
		for _, name := range served {
			found = found || name == m[1]
		}
		if !found {
			t.Errorf("README's feature table lists %s, which the provider does not serve", m[1])
		}
	}
}

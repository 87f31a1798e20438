package provider_test

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/acctest"
)

func TestAccProvider_validation(t *testing.T) {
	resource.ParallelTest(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "ssm" {
  region = "us-east-1"
  assume_role {
    role_arn = "not-an-arn"
  }
}
`,
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`Invalid role ARN`),
		}},
	})
}

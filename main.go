// Command terraform-provider-ssm serves the SSM provider to Terraform and OpenTofu.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/provider"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()
	if !debug {
		provider.SetFrameworkLogLevel()
	}

	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: provider.Address,
		Debug:   debug,
	})
	// Terraform closes each ssm_port_forward at the end of an operation; when it
	// stops the provider first (an interrupted run), end the sessions here.
	provider.CloseAllPortForwards()
	if err != nil {
		log.Fatal(err)
	}
}

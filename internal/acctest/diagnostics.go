package acctest

import (
	"context"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/provider"
)

// Diagnostic is one diagnostic the provider returned to Terraform.
type Diagnostic struct {
	RPC, Severity, Summary, Detail string
}

// DiagnosticsRecorder serves the provider like ProtoV6ProviderFactories and
// keeps every diagnostic it returns, so a test can check their text.
type DiagnosticsRecorder struct {
	mu    sync.Mutex
	diags []Diagnostic
}

// Factories serve the provider through the recorder.
func (r *DiagnosticsRecorder) Factories() map[string]func() (tfprotov6.ProviderServer, error) {
	return map[string]func() (tfprotov6.ProviderServer, error){
		ProviderName: func() (tfprotov6.ProviderServer, error) {
			s, err := providerserver.NewProtocol6WithError(provider.New("test")())()
			if err != nil {
				return nil, err
			}
			return &recordingServer{ProviderServer: s, r: r}, nil
		},
	}
}

// All returns the diagnostics recorded so far.
func (r *DiagnosticsRecorder) All() []Diagnostic {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Diagnostic(nil), r.diags...)
}

func (r *DiagnosticsRecorder) add(rpc string, ds []*tfprotov6.Diagnostic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range ds {
		if d != nil {
			r.diags = append(r.diags, Diagnostic{RPC: rpc, Severity: d.Severity.String(), Summary: d.Summary, Detail: d.Detail})
		}
	}
}

// recordingServer records the diagnostics of the calls that validate, plan,
// apply, read and import.
type recordingServer struct {
	tfprotov6.ProviderServer
	r *DiagnosticsRecorder
}

func (s *recordingServer) ConfigureProvider(ctx context.Context, req *tfprotov6.ConfigureProviderRequest) (*tfprotov6.ConfigureProviderResponse, error) {
	resp, err := s.ProviderServer.ConfigureProvider(ctx, req)
	if resp != nil {
		s.r.add("ConfigureProvider", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	resp, err := s.ProviderServer.ValidateResourceConfig(ctx, req)
	if resp != nil {
		s.r.add("ValidateResourceConfig", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	resp, err := s.ProviderServer.ValidateDataResourceConfig(ctx, req)
	if resp != nil {
		s.r.add("ValidateDataResourceConfig", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	resp, err := s.ProviderServer.PlanResourceChange(ctx, req)
	if resp != nil {
		s.r.add("PlanResourceChange", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	resp, err := s.ProviderServer.ApplyResourceChange(ctx, req)
	if resp != nil {
		s.r.add("ApplyResourceChange", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	resp, err := s.ProviderServer.ReadResource(ctx, req)
	if resp != nil {
		s.r.add("ReadResource", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	resp, err := s.ProviderServer.ReadDataSource(ctx, req)
	if resp != nil {
		s.r.add("ReadDataSource", resp.Diagnostics)
	}
	return resp, err
}

func (s *recordingServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	resp, err := s.ProviderServer.ImportResourceState(ctx, req)
	if resp != nil {
		s.r.add("ImportResourceState", resp.Diagnostics)
	}
	return resp, err
}

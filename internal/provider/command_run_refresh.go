package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/runcommand"
)

// refreshUnfinished re-reads a single-command run whose recorded status is not
// final (it was imported while it still ran), so state ends with its final
// status. It is the only read that calls the API; a failed call keeps the state
// and warns.
func (r *commandRunResource) refreshUnfinished(ctx context.Context, m *commandRunModel, diags *diag.Diagnostics) {
	if r.data == nil || m.ID.IsNull() || !unfinishedStatus(m.Status.ValueString()) || len(m.CommandIDs.Elements()) > 1 {
		return
	}
	id := m.ID.ValueString()
	res, _, err := runcommand.Import(ctx, r.clients(), id, outputLimit(m.OutputLimit))
	if err != nil {
		diags.AddWarning(doing("reading", nameCommandRun, id),
			"The run was recorded while it still ran, and reading its final status failed: "+err.Error()+
				". The state keeps what was recorded; the next refresh tries again.")
		return
	}
	tflog.Debug(ctx, "refreshed unfinished command", map[string]any{"command_id": id, "status": res.Status})
	diags.Append(m.setResult(ctx, res)...)
}

// unfinishedStatus: Pending, InProgress, Delayed and Cancelling are not final.
func unfinishedStatus(s string) bool {
	switch s {
	case "Pending", "InProgress", "Delayed", "Cancelling":
		return true
	}
	return false
}

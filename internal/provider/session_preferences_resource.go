package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/terraform-ssm/terraform-provider-ssm/internal/sessionprefs"
)

var (
	_ resource.ResourceWithConfigure   = (*sessionPreferencesResource)(nil)
	_ resource.ResourceWithImportState = (*sessionPreferencesResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*sessionPreferencesResource)(nil)
)

func newSessionPreferencesResource() resource.Resource { return &sessionPreferencesResource{} }

type sessionPreferencesResource struct{ data *ProviderData }

type sessionPreferencesModel struct {
	ID                          types.String       `tfsdk:"id"`
	Name                        types.String       `tfsdk:"name"`
	S3BucketName                types.String       `tfsdk:"s3_bucket_name"`
	S3KeyPrefix                 types.String       `tfsdk:"s3_key_prefix"`
	S3EncryptionEnabled         types.Bool         `tfsdk:"s3_encryption_enabled"`
	CloudWatchLogGroupName      types.String       `tfsdk:"cloudwatch_log_group_name"`
	CloudWatchEncryptionEnabled types.Bool         `tfsdk:"cloudwatch_encryption_enabled"`
	CloudWatchStreamingEnabled  types.Bool         `tfsdk:"cloudwatch_streaming_enabled"`
	KMSKeyID                    types.String       `tfsdk:"kms_key_id"`
	RunAsEnabled                types.Bool         `tfsdk:"run_as_enabled"`
	RunAsDefaultUser            types.String       `tfsdk:"run_as_default_user"`
	IdleSessionTimeout          types.Int64        `tfsdk:"idle_session_timeout"`
	MaxSessionDuration          types.Int64        `tfsdk:"max_session_duration"`
	ShellProfile                *shellProfileModel `tfsdk:"shell_profile"`
	Content                     types.String       `tfsdk:"content"`
	DocumentVersion             types.String       `tfsdk:"document_version"`
	PreviousVersion             types.String       `tfsdk:"previous_version"`
	PreviousContent             types.String       `tfsdk:"previous_content"`
}

type shellProfileModel struct {
	Linux   types.String `tfsdk:"linux"`
	Windows types.String `tfsdk:"windows"`
}

func (r *sessionPreferencesResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_session_preferences"
}

func (r *sessionPreferencesResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	optStr := func(desc string, v ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, MarkdownDescription: desc,
			Validators: append([]validator.String{stringvalidator.LengthAtLeast(1)}, v...)}
	}
	optBool := func(desc string, def bool) schema.BoolAttribute {
		return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(def), MarkdownDescription: desc}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Session Manager preferences of an account and region: where session logs go (S3, CloudWatch Logs), " +
			"whether they must be encrypted, the KMS key that encrypts session data, Run As, idle and maximum session time, " +
			"and shell profiles. They live in a Session document (`SSM-SessionManagerRunShell` unless `name` says otherwise, " +
			"the document Session Manager reads when a session names none). The resource creates the document, or takes over " +
			"the one that exists (the console creates it the first time someone opens the preferences page): it then remembers " +
			"the content it found in `previous_content`, and destroy puts that content back instead of deleting the document. " +
			"Changes made outside Terraform show in the plan and are undone by apply. Import by document name: import records " +
			"the document's default version and content as it finds them in `previous_version` and `previous_content`, so " +
			"destroy after an import also puts back what the account had, and deletes nothing. (The preferences document " +
			"holds settings, not secrets — bucket, log group and KMS key names, the Run As user, shell profile commands — and " +
			"anyone with `ssm:GetDocument` reads it; keeping its earlier content in the state adds no exposure, as long as no " +
			"secret was put in a shell profile.)",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "Name of the document.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(sessionprefs.DefaultDocumentName),
				MarkdownDescription: "Name of the Session document holding the preferences. Defaults to `" + sessionprefs.DefaultDocumentName +
					"`, the account's and region's default; another name makes preferences that sessions use when they name that document " +
					"(`aws ssm start-session --document-name`). 3 to 128 letters, digits, `_`, `-` and `.`, not beginning with " +
					"`aws`, `amazon` or `amzn`. Changing it replaces the resource.",
				Validators:    []validator.String{checkWith{"SSM document name", sessionprefs.ValidateDocumentName}},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"s3_bucket_name": optStr("S3 bucket that receives each session's log when the session ends.",
				checkWith{"S3 bucket name", sessionprefs.ValidateBucketName}),
			"s3_key_prefix": optStr("Key prefix of the session logs in `s3_bucket_name`.", stringvalidator.LengthAtMost(1024)),
			"s3_encryption_enabled": optBool("Send session logs only to an encrypted bucket (default `true`): a session whose "+
				"`s3_bucket_name` is not encrypted then fails to start.", true),
			"cloudwatch_log_group_name": optStr("CloudWatch Logs group that receives session logs.",
				checkWith{"CloudWatch Logs group name", sessionprefs.ValidateLogGroupName}),
			"cloudwatch_encryption_enabled": optBool("Send session logs only to an encrypted log group (default `true`).", true),
			"cloudwatch_streaming_enabled": optBool("Stream session data to `cloudwatch_log_group_name` while the session runs "+
				"(default `true`); `false` uploads the log when the session ends.", true),
			"kms_key_id": optStr("KMS key that encrypts session data between client and instance: a key id, `alias/...`, or a key "+
				"or alias ARN. The instances' role then needs `kms:Decrypt` on it (`ssm_instance_role.kms_key_arn`).",
				checkWith{"KMS key identifier", sessionprefs.ValidateKMSKeyID}),
			"run_as_enabled": optBool("Start Linux and macOS sessions as the user named by the caller's `SSMSessionRunAs` tag or "+
				"by `run_as_default_user`, instead of `ssm-user` (default `false`).", false),
			"run_as_default_user": optStr("User that sessions run as when `run_as_enabled` is true and the caller has no "+
				"`SSMSessionRunAs` tag.", stringvalidator.LengthAtMost(256)),
			"idle_session_timeout": schema.Int64Attribute{
				Optional: true, Computed: true, Default: int64default.StaticInt64(sessionprefs.DefaultIdleSessionTimeout),
				MarkdownDescription: fmt.Sprintf("Minutes without activity after which a session ends: %d to %d (default %d).",
					sessionprefs.MinIdleSessionTimeout, sessionprefs.MaxIdleSessionTimeout, sessionprefs.DefaultIdleSessionTimeout),
				Validators: []validator.Int64{int64validator.Between(sessionprefs.MinIdleSessionTimeout, sessionprefs.MaxIdleSessionTimeout)},
			},
			"max_session_duration": schema.Int64Attribute{
				Optional: true,
				MarkdownDescription: fmt.Sprintf("Minutes after which a session ends whatever it is doing: %d to %d. Unset: no limit.",
					sessionprefs.MinMaxSessionDuration, sessionprefs.MaxMaxSessionDuration),
				Validators: []validator.Int64{int64validator.Between(sessionprefs.MinMaxSessionDuration, sessionprefs.MaxMaxSessionDuration)},
			},
			"shell_profile": schema.SingleNestedAttribute{
				Optional:            true,
				MarkdownDescription: "Commands run at the start of every session, before the user types anything.",
				Attributes: map[string]schema.Attribute{
					"linux":   optStr("Shell commands for Linux and macOS instances, such as `exec bash`."),
					"windows": optStr("PowerShell commands for Windows instances."),
				},
			},
			"content": schema.StringAttribute{Computed: true,
				MarkdownDescription: "JSON content of the document's default version: what Session Manager reads. The plan shows the content apply will write."},
			"document_version": schema.StringAttribute{Computed: true,
				MarkdownDescription: "Default version of the document, the one holding `content`."},
			"previous_version": schema.StringAttribute{Computed: true,
				MarkdownDescription: "When the resource took over an existing document (at create, or by import): the default version it found. Null when it created the document.",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"previous_content": schema.StringAttribute{Computed: true,
				MarkdownDescription: "When the resource took over an existing document (at create, or by import): the content it found, which destroy puts back. Null when it created the document (destroy then deletes it).",
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
		},
	}
}

func (r *sessionPreferencesResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerData(req.ProviderData, &resp.Diagnostics)
}

func strOrEmpty(v types.String) string { return v.ValueString() }

// known reports whether every input of the model is known (no values from
// resources not yet created).
func (m *sessionPreferencesModel) known() bool {
	for _, v := range []interface{ IsUnknown() bool }{m.S3BucketName, m.S3KeyPrefix, m.S3EncryptionEnabled, m.CloudWatchLogGroupName,
		m.CloudWatchEncryptionEnabled, m.CloudWatchStreamingEnabled, m.KMSKeyID, m.RunAsEnabled, m.RunAsDefaultUser,
		m.IdleSessionTimeout, m.MaxSessionDuration} {
		if v.IsUnknown() {
			return false
		}
	}
	return m.ShellProfile == nil || (!m.ShellProfile.Linux.IsUnknown() && !m.ShellProfile.Windows.IsUnknown())
}

func (m *sessionPreferencesModel) preferences() sessionprefs.Preferences {
	p := sessionprefs.Preferences{
		S3BucketName: strOrEmpty(m.S3BucketName), S3KeyPrefix: strOrEmpty(m.S3KeyPrefix), S3EncryptionEnabled: m.S3EncryptionEnabled.ValueBool(),
		CloudWatchLogGroupName: strOrEmpty(m.CloudWatchLogGroupName), CloudWatchEncryptionEnabled: m.CloudWatchEncryptionEnabled.ValueBool(),
		CloudWatchStreamingEnabled: m.CloudWatchStreamingEnabled.ValueBool(), KMSKeyID: strOrEmpty(m.KMSKeyID),
		RunAsEnabled: m.RunAsEnabled.ValueBool(), RunAsDefaultUser: strOrEmpty(m.RunAsDefaultUser),
		IdleSessionTimeout: int(m.IdleSessionTimeout.ValueInt64()), MaxSessionDuration: int(m.MaxSessionDuration.ValueInt64()),
	}
	if m.ShellProfile != nil {
		p.ShellProfileLinux, p.ShellProfileWindows = strOrEmpty(m.ShellProfile.Linux), strOrEmpty(m.ShellProfile.Windows)
	}
	return p
}

func (m *sessionPreferencesModel) setPreferences(p sessionprefs.Preferences) {
	m.S3BucketName, m.S3KeyPrefix = strOrNull(p.S3BucketName), strOrNull(p.S3KeyPrefix)
	m.S3EncryptionEnabled = types.BoolValue(p.S3EncryptionEnabled)
	m.CloudWatchLogGroupName = strOrNull(p.CloudWatchLogGroupName)
	m.CloudWatchEncryptionEnabled = types.BoolValue(p.CloudWatchEncryptionEnabled)
	m.CloudWatchStreamingEnabled = types.BoolValue(p.CloudWatchStreamingEnabled)
	m.KMSKeyID = strOrNull(p.KMSKeyID)
	m.RunAsEnabled, m.RunAsDefaultUser = types.BoolValue(p.RunAsEnabled), strOrNull(p.RunAsDefaultUser)
	m.IdleSessionTimeout = types.Int64Value(int64(p.IdleSessionTimeout))
	m.MaxSessionDuration = types.Int64Null()
	if p.MaxSessionDuration > 0 {
		m.MaxSessionDuration = types.Int64Value(int64(p.MaxSessionDuration))
	}
	m.ShellProfile = nil
	if p.ShellProfileLinux != "" || p.ShellProfileWindows != "" {
		m.ShellProfile = &shellProfileModel{Linux: strOrNull(p.ShellProfileLinux), Windows: strOrNull(p.ShellProfileWindows)}
	}
}

// ModifyPlan shows the content apply will write.
func (r *sessionPreferencesResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan sessionPreferencesModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || !plan.known() {
		return
	}
	content := plan.preferences().Content()
	if !req.State.Raw.IsNull() {
		var state sessionPreferencesModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if resp.Diagnostics.HasError() {
			return
		}
		if sessionprefs.SameContent(content, state.Content.ValueString()) {
			return // nothing to write: content and document_version stay as they are
		}
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("content"), types.StringValue(content))...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("document_version"), types.StringUnknown())...)
}

// addPrefsError maps the engine's errors to diagnostics that say what to do.
func addPrefsError(diags *diag.Diagnostics, summary string, err error) {
	var wt *sessionprefs.WrongTypeError
	var nf *sessionprefs.NotFoundError
	switch {
	case errors.As(err, &wt):
		diags.AddAttributeError(path.Root("name"), summary,
			fmt.Sprintf("%s. Session Manager preferences live in a Session document: choose another name, or leave `name` unset "+
				"for the account's default (%s).", err, sessionprefs.DefaultDocumentName))
	case errors.As(err, &nf):
		diags.AddError(summary, fmt.Sprintf("%s: it was deleted outside Terraform. Run `terraform apply` again to create it.", err))
	default:
		diags.AddError(summary, fmt.Sprintf("%s\n\nCheck that the caller may call ssm:GetDocument, ssm:CreateDocument, "+
			"ssm:UpdateDocument, ssm:UpdateDocumentDefaultVersion and ssm:DeleteDocument on this document.", err))
	}
}

func (r *sessionPreferencesResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan sessionPreferencesModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	content := plan.preferences().Content()
	res, err := sessionprefs.Put(ctx, r.data.SSM, name, content)
	if err != nil {
		addPrefsError(&resp.Diagnostics, doing("creating", nameSessionPreferences, name), err)
		return
	}
	tflog.Debug(ctx, "session preferences written", map[string]any{"document": name, "version": res.Version, "created": res.Created})
	plan.ID = types.StringValue(name)
	plan.Content = types.StringValue(content)
	plan.DocumentVersion = types.StringValue(res.Version)
	plan.PreviousVersion, plan.PreviousContent = types.StringNull(), types.StringNull()
	if !res.Created {
		plan.PreviousVersion, plan.PreviousContent = types.StringValue(res.PreviousVersion), types.StringValue(res.PreviousContent)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *sessionPreferencesResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state sessionPreferencesModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	summary := doing("reading", nameSessionPreferences, name)
	doc, err := sessionprefs.Find(ctx, r.data.SSM, name, "")
	if sessionprefs.IsNotFound(err) {
		addNotFoundWarning(&resp.Diagnostics, nameSessionPreferences, name, fmt.Sprintf("The Session document %s does not exist.", name))
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		addPrefsError(&resp.Diagnostics, summary, err)
		return
	}
	if doc.Type != "Session" {
		addPrefsError(&resp.Diagnostics, summary, &sessionprefs.WrongTypeError{Name: name, Type: doc.Type})
		return
	}
	state.Name = types.StringValue(name)
	if state.PreviousVersion.IsUnknown() || state.PreviousContent.IsUnknown() { // import
		state.PreviousVersion, state.PreviousContent = types.StringNull(), types.StringNull()
	}
	state.DocumentVersion = types.StringValue(doc.Version)
	if !sessionprefs.SameContent(doc.Content, state.Content.ValueString()) {
		state.Content = types.StringValue(doc.Content)
	}
	p, err := sessionprefs.Parse(doc.Content)
	var ce *sessionprefs.ContentError
	switch {
	case errors.As(err, &ce):
		// Not preferences any more (edited outside Terraform): the content shows the
		// difference and apply writes the preferences again.
		tflog.Warn(ctx, "session preferences document content is not preferences", map[string]any{"document": name, "reason": ce.Reason})
		if state.IdleSessionTimeout.IsNull() || state.IdleSessionTimeout.IsUnknown() { // import
			resp.Diagnostics.AddError(summary, fmt.Sprintf("%s. Import only documents that hold Session Manager preferences.", err))
			return
		}
	case err != nil:
		resp.Diagnostics.AddError(summary, err.Error())
		return
	default:
		state.setPreferences(p)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *sessionPreferencesResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state sessionPreferencesModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	content := plan.preferences().Content()
	version, err := sessionprefs.SetContent(ctx, r.data.SSM, name, content)
	if err != nil {
		addPrefsError(&resp.Diagnostics, doing("updating", nameSessionPreferences, name), err)
		return
	}
	plan.Content = types.StringValue(content)
	plan.DocumentVersion = types.StringValue(version)
	plan.PreviousVersion, plan.PreviousContent = state.PreviousVersion, state.PreviousContent
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *sessionPreferencesResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state sessionPreferencesModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.ID.ValueString()
	if state.PreviousContent.IsNull() {
		if err := sessionprefs.Delete(ctx, r.data.SSM, name); err != nil {
			addPrefsError(&resp.Diagnostics, doing("deleting", nameSessionPreferences, name), err)
		}
		return
	}
	err := sessionprefs.Restore(ctx, r.data.SSM, name, state.PreviousVersion.ValueString(), state.PreviousContent.ValueString())
	if sessionprefs.IsNotFound(err) {
		return // gone already: nothing to restore into
	}
	if err != nil {
		addPrefsError(&resp.Diagnostics, doing("deleting", nameSessionPreferences, name), fmt.Errorf("restoring the content this resource took over: %w", err))
	}
}

func (r *sessionPreferencesResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if err := sessionprefs.ValidateDocumentName(req.ID); err != nil {
		resp.Diagnostics.AddError(doing("importing", nameSessionPreferences, req.ID), err.Error()+". Import by the document's name, such as "+sessionprefs.DefaultDocumentName+".")
		return
	}
	// Record the document as it is now: destroy puts it back (an import never
	// leads to deleting what the account had before Terraform).
	summary := doing("importing", nameSessionPreferences, req.ID)
	doc, err := sessionprefs.Find(ctx, r.data.SSM, req.ID, "")
	if sessionprefs.IsNotFound(err) {
		resp.Diagnostics.AddError(summary, fmt.Sprintf("%s: there is nothing to import. Apply the configuration to create it.", err))
		return
	}
	if err != nil {
		addPrefsError(&resp.Diagnostics, summary, err)
		return
	}
	resource.ImportStatePassthroughID(ctx, path.Root("id"), req, resp)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("previous_version"), doc.Version)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("previous_content"), doc.Content)...)
}

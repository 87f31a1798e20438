# Import the preferences document by its name. An imported document is deleted on
# destroy (the provider did not see what it held before).
terraform import ssm_session_preferences.this SSM-SessionManagerRunShell

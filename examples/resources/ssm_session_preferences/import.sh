# Import the preferences document by its name. Import records the document as it
# is (previous_content): destroy puts that content back instead of deleting it.
terraform import ssm_session_preferences.this SSM-SessionManagerRunShell

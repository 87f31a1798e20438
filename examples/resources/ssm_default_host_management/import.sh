# Default Host Management is one setting per account and region: import it by
# <account id>/<region>, which must be the provider's account and region. The
# setting and role found are recorded: destroy leaves them as they were.
terraform import ssm_default_host_management.this 123456789012/us-east-1

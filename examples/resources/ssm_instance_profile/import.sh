# Import an instance profile by its name.
terraform import ssm_instance_profile.web web-ssm

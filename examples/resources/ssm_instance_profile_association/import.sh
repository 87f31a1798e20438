# Import an instance profile association by the id of its instance.
terraform import ssm_instance_profile_association.web i-0123456789abcdef0

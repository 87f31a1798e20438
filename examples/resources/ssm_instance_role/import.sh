# Import an instance role by its name.
terraform import ssm_instance_role.web web-ssm

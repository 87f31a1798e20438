# Credentials and region come from the usual places (AWS_* environment variables,
# ~/.aws/config and ~/.aws/credentials) unless set here.
provider "ssm" {
  region = "eu-west-1"

  # Optional: act through a deployment role.
  assume_role {
    role_arn     = "arn:aws:iam::123456789012:role/deployer"
    session_name = "terraform"
  }

  default_tags {
    tags = {
      ManagedBy = "terraform"
    }
  }
}

# Against the bundled local emulator (go run ./internal/awsemu/cmd/awsemu):
# provider "ssm" {
#   region     = "us-east-1"
#   access_key = "test"
#   secret_key = "test"
#   endpoints {
#     ec2  = "http://127.0.0.1:4566"
#     iam  = "http://127.0.0.1:4566"
#     logs = "http://127.0.0.1:4566"
#     s3   = "http://127.0.0.1:4566"
#     ssm  = "http://127.0.0.1:4566"
#     sts  = "http://127.0.0.1:4566"
#   }
# }

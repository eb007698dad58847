"""REST API (v1) Lambda authorizers for LocalStack: the CloudFormation resource and request-time checks."""

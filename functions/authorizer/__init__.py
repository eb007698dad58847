"""The API Gateway Lambda authorizer: verifies Echo access tokens and passes their claims on."""

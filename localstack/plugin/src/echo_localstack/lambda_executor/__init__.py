"""A Docker-free LocalStack Lambda runtime executor: each execution environment is a local process."""

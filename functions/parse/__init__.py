"""Parse: S3 ObjectCreated -> SQS -> extract text in a sandbox -> parsed/{tenant}/{id}.json."""

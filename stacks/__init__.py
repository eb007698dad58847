"""Echo's CDK stacks and constructs. Never imports function code."""

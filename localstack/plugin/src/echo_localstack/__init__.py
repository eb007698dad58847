"""Echo's LocalStack plugins (installed into LocalStack's venv by localstack/manage.py)."""

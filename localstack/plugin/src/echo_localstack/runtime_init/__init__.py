"""The process that plays one Lambda execution environment (the part AWS's `rapid` init plays).

Stdlib only: it serves the Lambda Runtime API to `awslambdaric`, which runs in its own interpreter
(the runtime venv), and reports to LocalStack through the executor-endpoint protocol.
"""

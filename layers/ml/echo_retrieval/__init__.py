"""Echo's retrieval library (the ML layer): chunking, embedding, the per-tenant hybrid index, answerers.

Modules import their heavy dependencies (onnxruntime, tokenizers, boto3) inside the functions
that need them, so importing the package is cheap and has no side effects.
"""

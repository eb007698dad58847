from tests.retrieval_support import embedder, model_directory, model_env

__all__ = ["embedder", "model_directory", "model_env"]

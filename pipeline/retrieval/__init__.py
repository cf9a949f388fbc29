"""Question bank (schema, loading), embedder, FAISS indexes and the matcher."""

"""Query API: POST /query, retrieval with authorization inside, cited answers."""

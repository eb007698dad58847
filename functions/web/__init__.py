"""The web app: a backend-for-frontend that keeps every token server side."""

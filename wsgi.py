"""WSGI entry point: gunicorn 'wsgi:app'."""

from qa_incidents import create_app

app = create_app()

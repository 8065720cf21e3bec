"""WSGI entry point: ``gunicorn wsgi:app`` or ``waitress-serve wsgi:app``."""

from srs import create_app

app = create_app()

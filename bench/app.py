"""The application as gunicorn serves it for the benchmark (the ordinary app; /healthz is its yardstick)."""

from qa_incidents import create_app

app = create_app()

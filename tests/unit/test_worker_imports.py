"""A web worker loads what every page needs, not the SAML, OpenID Connect and PDF libraries (about 105 MB between them):
those load with the first sign-in through a provider or the first printed document. And the binding names the SAML module writes itself are
pysaml2's own."""

from __future__ import annotations

import os
import subprocess
import sys


def test_creating_the_app_does_not_load_the_sign_in_or_pdf_libraries(tmp_path):  # type: ignore[no-untyped-def]
    code = ("import sys; from qa_incidents import create_app; create_app(); "
            "print(' '.join(m for m in ('saml2', 'fpdf', 'fontTools', 'xmlschema', 'weasyprint', 'requests', "
            "'authlib', 'joserfc') if m in sys.modules))")
    env = {**os.environ, "SCHEDULER_IN_PROCESS": "0", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
           "QA_INSTANCE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "", out.stdout


def test_announcing_an_event_does_not_load_alembic(tmp_path):  # type: ignore[no-untyped-def]
    """The first event a worker announces (or asks, as every incident page does) connects every feature's
    subscribers through `all_models()`, in core/migrate.py: Alembic, Mako and Pygments (about 15 MB) stay out."""
    code = ("import sys; from qa_incidents.core import events; events.connect_all(); "
            "print(' '.join(m for m in ('alembic', 'mako', 'pygments') if m in sys.modules))")
    env = {**os.environ, "SCHEDULER_IN_PROCESS": "0", "DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
           "QA_INSTANCE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "", out.stdout


def test_the_saml_binding_names_are_pysaml2s():  # type: ignore[no-untyped-def]
    import saml2

    from qa_incidents.sso import saml

    assert (saml.BINDING_HTTP_POST, saml.BINDING_HTTP_REDIRECT) == (saml2.BINDING_HTTP_POST, saml2.BINDING_HTTP_REDIRECT)

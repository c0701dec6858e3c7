"""A new PDF document with fonts that carry the text people write: DejaVu Sans for Latin, Greek and Cyrillic
(shipped with the package), and a Japanese font when the machine has one, used for any character DejaVu lacks.

The Japanese font is not shipped: it is the system's IPAex Gothic (Debian `fonts-ipaexfont-gothic`, IPA Font
License) or Noto Sans CJK (`fonts-noto-cjk`, SIL OFL), or any TrueType/OpenType file named by PDF_CJK_FONT.
Without one, Japanese characters cannot be drawn; `has_cjk_font()` tells whether they can.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # fpdf2 and fontTools (~45 MB) are imported by the first document printed, not by every worker
    from fpdf import FPDF

# fpdf2 subsets fonts through fontTools, which logs every table it prunes at INFO: noise in the server's log.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FONTS = Path(__file__).resolve().parent.parent / "fonts"
FONT = "DejaVu"  # the family name documents set text in
CJK_FONT = "JapaneseFallback"
CJK_CANDIDATES = (
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)


@lru_cache(maxsize=1)
def cjk_font_path() -> Path | None:
    """The Japanese font file used for text DejaVu cannot draw, or None if the machine has none."""
    configured = os.environ.get("PDF_CJK_FONT")
    for candidate in ([configured] if configured else []) + list(CJK_CANDIDATES):
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def has_cjk_font() -> bool:
    return cjk_font_path() is not None


def new_pdf(**kwargs: object) -> FPDF:
    """An A4 FPDF with the DejaVu family (regular, bold) registered and, when available, a Japanese fallback."""
    from fpdf import FPDF

    pdf = FPDF(format=kwargs.pop("format", "A4"), **kwargs)  # type: ignore[arg-type]
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    path = cjk_font_path()
    if path is not None:
        options = {"collection_font_number": 0} if path.suffix.lower() == ".ttc" else {}
        pdf.add_font(CJK_FONT, "", str(path), **options)
        # Japanese fonts rarely come in bold: headings in Japanese use the regular weight rather than no glyph.
        pdf.add_font(CJK_FONT, "B", str(path), **options)
        pdf.set_fallback_fonts([CJK_FONT], exact_match=False)
    return pdf


#: The print style every HTML-rendered document shares: A4, the shipped DejaVu Sans for Latin text and the system's
#: Japanese font (IPAex Gothic from `make fonts`) for what DejaVu lacks.
PRINT_CSS = """
@page { size: A4; margin: 14mm 14mm 16mm 14mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; } }
html { font-family: "DejaVu Sans", "IPAexGothic", "IPAexゴシック", "Noto Sans CJK JP", sans-serif;
       font-size: 9.5pt; line-height: 1.35; color: #111; }
h1, h2 { font-size: 14pt; margin: 0 0 4pt; }
h3 { font-size: 11pt; margin: 8pt 0 2pt; border-bottom: 0.5pt solid #999; }
p, ul { margin: 2pt 0 4pt; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 0.5pt solid #999; padding: 2pt 4pt; text-align: left; vertical-align: top; }
a { color: #111; text-decoration: none; }
"""


def _font_faces() -> str:
    faces = [f'@font-face {{ font-family: "DejaVu Sans"; src: url("{(FONTS / "DejaVuSans.ttf").as_uri()}"); }}',
             f'@font-face {{ font-family: "DejaVu Sans"; font-weight: bold; '
             f'src: url("{(FONTS / "DejaVuSans-Bold.ttf").as_uri()}"); }}']
    path = cjk_font_path()
    if path is not None:
        faces.append(f'@font-face {{ font-family: "IPAexGothic"; src: url("{path.as_uri()}"); }}')
    return "\n".join(faces)


def _fonts_only(url: str) -> None:
    """Refuse any URL but the font files named above and inline pictures (ValueError): a document's text never makes the printer read
    another file or reach the network (no server-side request forgery through a written link or image)."""
    allowed = {(FONTS / "DejaVuSans.ttf").as_uri(), (FONTS / "DejaVuSans-Bold.ttf").as_uri()}
    path = cjk_font_path()
    if path is not None:
        allowed.add(path.as_uri())
    if url not in allowed and not url.startswith("data:image/"):  # a picture the document carries inline
        raise ValueError(f"not fetched while printing: {url[:80]}")


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    class FontsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            _fonts_only(url)
            return super().fetch(url, headers)

    return FontsOnly(allowed_protocols=("file", "data"), allow_redirects=False)


def html_to_pdf(html: str, *, extra_css: str = "") -> bytes:
    """The PDF of an HTML document (the same template the page shows), printed by WeasyPrint."""
    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = _fetcher()
    css = weasyprint.CSS(string=_font_faces() + PRINT_CSS + extra_css, url_fetcher=fetcher)
    document = weasyprint.HTML(string=html, url_fetcher=fetcher)
    return bytes(document.write_pdf(stylesheets=[css]))


TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"


@lru_cache(maxsize=8)
def document_environment(*, filters: tuple[tuple[str, Any], ...] = ()) -> Any:
    """A Jinja environment over the application's templates with gettext, usable without a Flask app (documents
    printed by background jobs): the same templates the pages render. `filters`: (name, function) pairs added to it.

    One per process for each set of filters: an environment compiles each template the first time it is asked for
    it (about 100 ms for a status report), so a fresh one per document would compile it again every time (inside
    the filing transaction that issues a severe incident's first report, holding SQLite's write lock)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])
    try:
        from flask_babel import gettext, ngettext

        env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    except Exception:  # pragma: no cover - no Flask-Babel: untranslated
        env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(dict(filters))
    return env

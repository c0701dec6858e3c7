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

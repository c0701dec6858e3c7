"""Languages and locale-aware display: the supported languages, Japanese era dates, dates and numbers per locale."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from qa_incidents.core.clock import to_zone

LANGUAGES: tuple[str, ...] = ("en", "ja")
DEFAULT_LANGUAGE = "en"
# Each language named in its own words, so people find theirs whatever language the page is in.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "ja": "日本語"}
TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "translations"


def best_language(accepted: list[tuple[str, float]] | None) -> str:
    """The supported language a browser prefers most (Accept-Language, as (tag, quality) pairs), else English."""
    ranked = sorted(accepted or [], key=lambda pair: -pair[1])
    for tag, quality in ranked:
        if quality <= 0:
            continue
        primary = tag.replace("_", "-").split("-")[0].strip().lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def supported_language(value: str | None) -> str | None:
    """value if it names a supported language, else None (never trust a language code from a request)."""
    return value if value in LANGUAGES else None


# ---------------------------------------------------------------------------------------------------------
# Japanese era (和暦) dates, as Japanese forms and authorities write them: 令和8年11月20日.


@dataclass(frozen=True)
class Era:
    kanji: str
    romaji: str
    letter: str
    start: date  # the first day of the era (Gregorian)


# Newest first. Meiji is counted from the adoption of the Gregorian calendar (1873-01-01 = Meiji 6):
# earlier dates were lunar-calendar dates and cannot be converted by arithmetic.
ERAS: tuple[Era, ...] = (
    Era("令和", "Reiwa", "R", date(2019, 5, 1)),
    Era("平成", "Heisei", "H", date(1989, 1, 8)),
    Era("昭和", "Showa", "S", date(1926, 12, 25)),
    Era("大正", "Taisho", "T", date(1912, 7, 30)),
    Era("明治", "Meiji", "M", date(1868, 1, 25)),
)
GREGORIAN_FROM = date(1873, 1, 1)


@dataclass(frozen=True)
class EraDate:
    era: Era
    year: int  # 1 for the first (元) year
    month: int
    day: int


def era_of(day: date | datetime) -> EraDate:
    """The Japanese era and era year of a Gregorian date (datetimes: their own date, convert the zone first)."""
    d = day.date() if isinstance(day, datetime) else day
    if d < GREGORIAN_FROM:
        raise ValueError(f"{d.isoformat()} is before Japan adopted the Gregorian calendar (1873-01-01)")
    for era in ERAS:
        if d >= era.start:
            return EraDate(era=era, year=d.year - era.start.year + 1, month=d.month, day=d.day)
    raise ValueError(f"no era for {d.isoformat()}")  # unreachable after the check above


def era_date(day: date | datetime | None, style: str = "kanji", *, gannen: bool = True) -> str:
    """A date as Japanese forms write it.

    style "kanji": 令和8年11月20日 (the era's first year as 元年 unless gannen=False);
    style "short": R8.11.20 (the letter abbreviation used in tables and on forms with little room);
    style "romaji": Reiwa 8 (2026)-11-20, for English-speaking readers of Japanese documents.
    """
    if day is None:
        return ""
    e = era_of(day)
    if style == "short":
        return f"{e.era.letter}{e.year}.{e.month:02d}.{e.day:02d}"
    if style == "romaji":
        gregorian = e.era.start.year + e.year - 1
        return f"{e.era.romaji} {e.year} ({gregorian})-{e.month:02d}-{e.day:02d}"
    if style != "kanji":
        raise ValueError(f"unknown era date style {style!r}")
    year = "元" if e.year == 1 and gannen else str(e.year)
    return f"{e.era.kanji}{year}年{e.month}月{e.day}日"


def era_datetime(value: datetime | None, zone: str, *, gannen: bool = True) -> str:
    """An instant as a Japanese form writes it in the given zone: 令和8年11月20日 12時00分 (JST)."""
    if value is None:
        return ""
    local = to_zone(value, zone)
    return f"{era_date(local.date(), gannen=gannen)} {local.hour}時{local.minute:02d}分 ({local.tzname()})"


# ---------------------------------------------------------------------------------------------------------
# Dates, times and numbers in the viewer's language and time zone (Babel's CLDR data).


def format_local_datetime(value: datetime | None, zone: str, language: str, width: str = "medium") -> str:
    """An instant in a zone, written the way the language writes it, with the zone's abbreviation."""
    from babel.dates import format_datetime

    if value is None:
        return ""
    local = to_zone(value, zone)
    return f"{format_datetime(local, format=width, locale=language)} {local.tzname()}"


def format_local_date(value: date | datetime | None, language: str, width: str = "medium", zone: str | None = None) -> str:
    """A calendar day written the way the language writes it (2026/11/20 or 20 Nov 2026)."""
    from babel.dates import format_date

    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_zone(value, zone or "UTC").date()
    return format_date(value, format=width, locale=language)


def format_number(value: int | float | Decimal | None, language: str) -> str:
    """A number with the language's grouping and decimal signs (12,345.6)."""
    from babel.numbers import format_decimal

    if value is None:
        return ""
    return format_decimal(value, locale=language)


# ---------------------------------------------------------------------------------------------------------
# Flask glue: which language a request is served in, and the template filters.

SESSION_KEY = "language"


def request_language() -> str | None:
    """The language of this request: the user's own choice once logged in; before that the language picked
    with the switch (kept in the session), else the browser's Accept-Language; None outside a request."""
    from flask import has_request_context, request, session
    from flask_login import current_user

    if not has_request_context():  # background jobs and the CLI use the default (English) or force_locale
        return None
    if current_user and current_user.is_authenticated:
        return supported_language(current_user.locale) or DEFAULT_LANGUAGE
    return supported_language(session.get(SESSION_KEY)) or best_language(list(request.accept_languages))


def current_language() -> str:
    """The language the page is being rendered in ("en" outside a request)."""
    from flask_babel import get_locale

    locale = get_locale()
    return supported_language(locale.language if locale else None) or DEFAULT_LANGUAGE


def _viewer_zone() -> str:
    from qa_incidents.core.web import viewer_timezone

    return viewer_timezone()


def local_datetime_filter(value: datetime | None, width: str = "medium") -> str:
    """Template filter: an instant in the viewer's zone and language (2026/11/20 12:00:00 JST, Nov 20, 2026…;
    令和8年11月20日 12時00分 (JST) for a reader of Japanese who chose era dates)."""
    if viewer_uses_era_dates():
        return era_datetime(value, _viewer_zone())
    return format_local_datetime(value, _viewer_zone(), current_language(), width)


def local_date_filter(value: date | datetime | None, width: str = "medium") -> str:
    """Template filter: a day in the viewer's language (datetimes are taken in the viewer's zone; 令和8年11月20日 for a
    reader of Japanese who chose era dates)."""
    if viewer_uses_era_dates():
        return era_date_filter(value)
    return format_local_date(value, current_language(), width, zone=_viewer_zone())


def number_filter(value: int | float | Decimal | None) -> str:
    """Template filter: a number with the viewer's grouping and decimal signs."""
    return format_number(value, current_language())


def viewer_uses_era_dates() -> bool:
    """Whether the viewer reads Japanese and chose Japanese-era dates (令和8年…) on their account page."""
    from flask import has_request_context
    from flask_login import current_user

    return bool(has_request_context() and current_user and current_user.is_authenticated
                and getattr(current_user, "era_dates", False) and current_language() == "ja")


def localtime_filter(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Template filter: an instant in the viewer's zone with the zone's abbreviation (2026-11-20 12:00 JST), or, for
    a reader of Japanese who chose era dates, 令和8年11月20日 12:00 JST."""
    if value is None:
        return ""
    zone, era = _viewer_reading()  # used on every row of a listing: the viewer is looked up once per call, not five times
    local = to_zone(value, zone)
    if era and current_language() == "ja":
        time_part = f" {local:%H:%M}" if "%H" in fmt else ""
        return f"{era_date(local.date())}{time_part} {local.tzname()}"
    return f"{local.strftime(fmt)} {local.tzname()}"


def _viewer_reading() -> tuple[str, bool]:
    """The viewer's time zone, and whether they chose era dates (which apply only to pages in Japanese): as
    viewer_timezone and viewer_uses_era_dates, with one look-up of the user."""
    from flask import current_app, has_request_context
    from flask_login import current_user

    if has_request_context():
        user = current_user._get_current_object()
        if user is not None and user.is_authenticated:
            return user.timezone, bool(getattr(user, "era_dates", False))
    return current_app.config["DEFAULT_TIMEZONE"], False


def era_date_filter(value: date | datetime | None, style: str = "kanji") -> str:
    """Template filter: 令和8年11月20日 (datetimes are taken in the viewer's zone)."""
    if isinstance(value, datetime):
        value = to_zone(value, _viewer_zone()).date()
    return era_date(value, style)


def init_app(app) -> None:  # type: ignore[no-untyped-def]
    """Serve the catalogues under translations/, choose each request's language, register the filters."""
    babel = app.extensions["babel"]
    # The catalogues live at the repository root (next to babel.cfg), not inside the package. They come last:
    # Flask-Babel takes the plural rule of the last directory it merges, and a directory without a catalogue
    # (the default one inside the package) would give Japanese English's rule ("0 requests" untranslated).
    others = [d for d in babel.translation_directories if d != str(TRANSLATIONS_DIR) and Path(d).is_dir()]
    if babel.translation_directories != [*others, str(TRANSLATIONS_DIR)]:
        babel.translation_directories = [*others, str(TRANSLATIONS_DIR)]
        # Flask-Babel caches loaded catalogues per locale for the whole process, not per application.
        with app.app_context():  # the domain is made from the application's settings on first use
            babel.instance.domain_instance.cache.clear()
    babel.locale_selector = request_language
    app.jinja_env.filters.update(
        local_time=localtime_filter,
        local_datetime=local_datetime_filter,
        local_date=local_date_filter,
        number=number_filter,
        era_date=era_date_filter,
        data=data_text,
        label=label_text,
        overdue=overdue_text,
    )

    # Templates translate dozens of strings per page; each asks for the request's catalogue once, not eight times.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True)
    # `_` and `gettext` straight to the catalogue: Jinja's own wrappers pass every string through two more
    # context calls (a quarter of an incident page's rendering); the result is the same (see _template_gettext).
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext, overdue_days=overdue_days_text)

    @app.context_processor
    def language_helpers() -> dict[str, object]:
        return {"LANGUAGE_NAMES": LANGUAGE_NAMES, "current_language": current_language}

    app.extensions["qa_i18n"] = True


@pass_context
def _template_gettext(__context: Context, __string: str, **variables: object) -> str:
    """Templates' `_("…", name=value)`: as Jinja's newstyle gettext (the translation is markup in an autoescaped
    template, the values are escaped into it, and `%` formatting always applies), in one call. The catalogue is the
    request's (page_translations), never kept on the template context: an imported macro module keeps its context
    for the life of the process, across requests in other languages. The positional names cannot clash with a
    value's name (`_("%(string)s", string=…)`)."""
    translated = page_translations().ugettext(__string)
    if __context.eval_ctx.autoescape:
        # The template's own text and its translation from our catalogue, as Jinja treats them; values are escaped.
        translated = Markup(translated)  # nosec B704
    # Formatting a text without a "%" and without values would give the same text.
    return translated % variables if variables or "%" in translated else translated  # type: ignore[no-any-return]


def data_text(value: object) -> str:
    """A text that comes from data (a law's authority, an obligation's title, a deadline rule's note) in the reader's
    language: the catalogue holds these texts as they are written in English; one it does not hold stays as written
    (an administrator's own entry)."""
    if value is None:
        return ""
    text = str(value)
    if not text.strip():
        return text
    catalogue = page_translations()
    found = str(catalogue.ugettext(text))
    if found != text:
        return found
    # A text composed from catalogue texts as "Lead: what (citation)" (a reportability assessment as stored with its
    # record): each part in the reader's language, the citation as written. Only when the catalogue holds the part.
    composed = _LEAD_TEXT_CITATION.match(text)
    if composed:
        lead, body, cite = composed.group(1), composed.group(2), composed.group(3)
        said = str(catalogue.ugettext(body))
        if said != body:
            shown = str(catalogue.ugettext("%(lead)s: %(text)s")) % {"lead": catalogue.ugettext(lead), "text": said}
            return shown + (f" ({cite})" if cite else "")
    return text


_LEAD_TEXT_CITATION = re.compile(r"^([A-Z][A-Za-z ]{1,30}): (.+?)(?: \(([^()]*)\))?$", re.S)


def overdue_text(due: datetime | None, now: datetime | None = None) -> str:
    """"overdue by 3 h" for something past due, "" otherwise."""
    from qa_incidents.core.clock import overdue_span

    if due is None:
        return ""
    if now is None:
        from qa_incidents.core.web import now as current

        now = current()
    span = overdue_span(due, now)
    if span is None:
        return ""
    from flask_babel import gettext

    days, hours, minutes = span
    if days:
        return gettext("overdue by %(d)d d %(h)d h", d=days, h=hours)
    if hours:
        return gettext("overdue by %(h)d h", h=hours)
    return gettext("overdue by %(m)d min", m=minutes)


def overdue_days_text(due: date, today: date) -> str:
    """"overdue by 3 days" for a due day already past, "" otherwise."""
    from flask_babel import ngettext

    late = (today - due).days
    return ngettext("overdue by %(num)d day", "overdue by %(num)d days", late) if late > 0 else ""


def label_text(value: object) -> str:
    """A field name from data ("product identification") as a label: translated, first letter capital."""
    import re

    return re.sub(r"^(\(\w+\)\s*)?([a-z])", lambda m: (m.group(1) or "") + m.group(2).upper(), data_text(value))


PAGE_TRANSLATIONS_KEY = "qa_page_translations"
#: flask.g, flask_babel.get_locale and get_translations, imported at the first call (this module is imported by plain
#: Python code too), not at every one: a page asks for a hundred strings.
_FLASK: tuple[Any, Any, Any] | None = None


def _flask_names() -> tuple[Any, Any, Any]:
    global _FLASK
    from flask import g
    from flask_babel import get_locale, get_translations

    _FLASK = (g, get_locale, get_translations)
    return _FLASK


def page_translations():  # type: ignore[no-untyped-def]
    """The catalogue Flask-Babel would use for this request, looked up once per request and language.

    Flask-Babel finds it again on every string (several context-local lookups and a locale identifier built
    each time). It is kept on `flask.g` under this application's own key, with the locale it was found for, so a
    `force_locale` block (a mail in another language) gets its own. The locale is Flask-Babel's get_locale; once
    that has chosen it, it is read where get_locale keeps it (`g._flask_babel.babel_locale`, which force_locale
    also sets), as one lookup instead of get_locale's three of `g` (a page asks for a hundred strings)."""
    g, get_locale, get_translations = _FLASK or _flask_names()
    try:
        here = g._get_current_object()
    except RuntimeError:  # outside an application context
        return get_translations()
    locale = getattr(getattr(here, "_flask_babel", None), "babel_locale", None) or get_locale()
    if locale is None:
        return get_translations()
    found = getattr(here, PAGE_TRANSLATIONS_KEY, None)
    if found is not None and found[0] is locale:
        return found[1]
    translations = get_translations()
    setattr(here, PAGE_TRANSLATIONS_KEY, (locale, translations))
    return translations


# WTForms' own catalogue (its built-in validation messages), one per language for the life of the process: the files
# do not change while it runs. Flask-WTF would read it from disk again on every request that uses a form.
_WTFORMS_CATALOGUES: dict[str, object] = {}


def wtforms_translations():  # type: ignore[no-untyped-def]
    """WTForms' catalogue in the request's language, as Flask-WTF finds it (None outside a request or without
    Flask-Babel), loaded once per language."""
    from flask import current_app, has_request_context

    if not has_request_context() or "babel" not in current_app.extensions:
        return None
    from flask_babel import get_locale

    locale = get_locale()
    key = str(locale)
    translations = _WTFORMS_CATALOGUES.get(key)
    if translations is None:
        from babel import support
        from wtforms.i18n import messages_path

        translations = _WTFORMS_CATALOGUES[key] = support.Translations.load(messages_path(), [locale], domain="wtforms")
    return translations


class WTFormsMessages:
    """WTForms' built-in messages ("This field is required.") in the language of the request at the time they are
    written, as Flask-WTF's own translations object does; given to every form by core.forms.Form's Meta."""

    def gettext(self, string: str) -> str:
        t = wtforms_translations()
        return string if t is None else t.ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        t = wtforms_translations()
        if t is None:
            return singular if n == 1 else plural
        return t.ungettext(singular, plural, n)  # type: ignore[no-any-return]


WTFORMS_MESSAGES = WTFormsMessages()


# Documents for an authority are written in the authority's language, whoever prepares them.
AUTHORITY_LANGUAGES: dict[str, str] = {"JP": "ja"}


def document_language(regime_code: str) -> str:
    """The language of a document for the regime's authority: JP-CPSA-35 → Japanese; others English."""
    country = (regime_code or "").split("-", 1)[0].upper()
    return AUTHORITY_LANGUAGES.get(country, DEFAULT_LANGUAGE)


def document_datetime(value: datetime | None, zone: str, language: str) -> str:
    """An instant as a document in that language writes it: 令和8年11月30日 23時59分 (JST), or 2026-11-30 23:59 JST."""
    if value is None:
        return ""
    if language == "ja":
        return era_datetime(value, zone)
    local = to_zone(value, zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


# E-mails are written in each recipient's language: one message per language among the recipients.


def in_language(language: str | None):  # type: ignore[no-untyped-def]
    """A context in which gettext answers in the given language (English if unsupported). Needs the application
    context to translate; outside it, text stays English."""
    from flask_babel import force_locale

    return force_locale(supported_language(language) or DEFAULT_LANGUAGE)


def recipients_by_language(people: Iterable[tuple[str, str | None]]) -> dict[str, list[str]]:
    """(e-mail, language) pairs grouped by language, e.g. {"ja": [...], "en": [...]}, each list in order, no repeats."""
    grouped: dict[str, list[str]] = {}
    for email, language in people:
        addresses = grouped.setdefault(supported_language(language) or DEFAULT_LANGUAGE, [])
        if email not in addresses:
            addresses.append(email)
    return grouped


# ---------------------------------------------------------------------------------------------------------
# Dates in e-mails and generated documents: written for their readers, whatever page (if any) caused them.


def written_date(value: date | datetime | None, language: str, *, zone: str = "UTC", era: bool = False) -> str:
    """A calendar day as a letter in the language writes it: 2026-11-20 in English, 2026年11月20日 in Japanese,
    令和8年11月20日 with era dates (datetimes are taken in the zone)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_zone(value, zone).date()
    if language == "ja":
        return era_date(value) if era else f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def written_datetime(value: datetime | None, zone: str, language: str, *, era: bool = False,
                     name_zone: bool = False) -> str:
    """An instant as a letter in the language writes it, in the zone, with the zone's abbreviation (and its name when
    the reader may live elsewhere): 2026-11-20 12:00 JST (Asia/Tokyo), 2026年11月20日 12:00 JST, 令和8年11月20日 12:00 JST."""
    if value is None:
        return ""
    local = to_zone(value, zone)
    named = f" ({zone})" if name_zone else ""
    return f"{written_date(local.date(), language, era=era)} {local:%H:%M} {local.tzname()}{named}"


@dataclass(frozen=True)
class Recipient:
    """Someone a message goes to, with how they read: language, time zone and calendar (None: not a user, defaults)."""

    email: str
    language: str | None = None
    timezone: str | None = None
    era_dates: bool = False


@dataclass(frozen=True)
class Reader:
    """How the readers of one message read it: one language; their own zone if the message has one reader who has
    one, else a shared zone that the dates name."""

    language: str
    zone: str
    own_zone: bool = False
    era_dates: bool = False

    def datetime(self, value: datetime | None) -> str:
        """An instant for these readers (2026年11月20日 12:00 JST; 2026-11-20 12:00 JST (Asia/Tokyo))."""
        return written_datetime(value, self.zone, self.language, era=self.era_dates, name_zone=not self.own_zone)

    def date(self, value: date | datetime | None) -> str:
        """A day for these readers (2026-11-20; 2026年11月20日; 令和8年11月20日)."""
        return written_date(value, self.language, zone=self.zone, era=self.era_dates)


def readers(people: Iterable[Recipient], *, zone: str) -> list[tuple[Reader, list[str]]]:
    """The recipients grouped by language (first mention of an address wins), each group with how it reads."""
    seen: set[str] = set()
    groups: dict[str, list[Recipient]] = {}
    for person in people:
        email = (person.email or "").strip()
        if not email or email.lower() in seen:
            continue
        seen.add(email.lower())
        groups.setdefault(supported_language(person.language) or DEFAULT_LANGUAGE, []).append(person)
    found = []
    for language in sorted(groups):
        group = groups[language]
        own = group[0].timezone if len(group) == 1 and group[0].timezone else None
        era = language == "ja" and all(p.era_dates for p in group)
        found.append((Reader(language=language, zone=own or zone, own_zone=own is not None, era_dates=era),
                      [p.email.strip() for p in group]))
    return found

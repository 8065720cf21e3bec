"""Every message in messages.pot is translated into Indonesian and Vietnamese, placeholders intact.

A feature that adds user-facing strings runs `make update-messages` and translates the new entries in
srs/translations/id and srs/translations/vi; this test names each string still missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "srs" / "translations"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _ids(message) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _strings(message) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    if isinstance(message.string, (list, tuple)):
        return tuple(message.string)
    return (message.string or "",)


@pytest.mark.parametrize("locale", ["id", "vi"])
def test_every_message_is_translated(locale):
    template = _read(TRANSLATIONS / "messages.pot")
    catalog = _read(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        strings = _strings(translated) if translated is not None else ()
        plural_forms_wrong = isinstance(message.id, (list, tuple)) and len(strings) != catalog.num_plurals
        if not strings or translated.fuzzy or not all(s.strip() for s in strings) or plural_forms_wrong:
            missing.append(_ids(message)[0])
    assert not missing, (
        f"{len(missing)} message(s) have no translation in srs/translations/{locale}/LC_MESSAGES/messages.po "
        "(run `make update-messages`, then translate them):\n  " + "\n  ".join(missing)
    )


@pytest.mark.parametrize("locale", ["id", "vi"])
def test_translations_keep_the_placeholders(locale):
    catalog = _read(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    broken = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        expected = sorted(set(PLACEHOLDER.findall(_ids(message)[-1])))
        for text in _strings(message):
            if sorted(set(PLACEHOLDER.findall(text))) != expected:
                broken.append(f"{_ids(message)[0]!r} -> {text!r}")
    assert not broken, f"Placeholders changed in the {locale} translation:\n  " + "\n  ".join(broken)


@pytest.mark.parametrize("locale", ["id", "vi"])
def test_no_stale_messages(locale):
    """A catalog holds exactly the template's messages, so nobody translates strings no longer used."""
    template = {_ids(m) for m in _read(TRANSLATIONS / "messages.pot") if m.id}
    catalog = {_ids(m) for m in _read(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale) if m.id}
    assert catalog == template, (
        f"srs/translations/{locale} is out of step with messages.pot; run `make update-messages`.\n"
        f"  missing: {sorted(template - catalog)}\n  extra: {sorted(catalog - template)}"
    )


def _extraction_settings() -> tuple[list, dict, dict]:  # type: ignore[type-arg]
    """The method map of babel.cfg and the keywords of the Makefile's extract-messages recipe."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(ROOT / "babel.cfg"))
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^extract-messages:.*?(?=^\S|\Z)", makefile, re.M | re.S)
    assert recipe, "the Makefile has no extract-messages target"
    command = recipe.group(0).replace("\\\n", " ")
    keywords = {} if "--no-default-keywords" in command else dict(DEFAULT_KEYWORDS)
    keywords.update(parse_keywords(re.findall(r"(?:-k|--keyword)[ =](\S+)", command)))
    return method_map, options_map, keywords


def test_every_source_string_is_in_the_template():
    """A string marked for translation in srs/ or templates/ but not in messages.pot never gets translated."""
    method_map, options_map, keywords = _extraction_settings()
    in_source: dict[tuple[str | None, tuple[str, ...]], str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=keywords
    ):
        ids = tuple(message) if isinstance(message, (list, tuple)) else (message,)
        in_source.setdefault((context, ids), f"{filename}:{lineno}")
    in_template = {(m.context, _ids(m)) for m in _read(TRANSLATIONS / "messages.pot") if m.id}
    missing = sorted(
        f"{where}: {ids[0]!r}" + (f" (context {context!r})" if context else "")
        for (context, ids), where in in_source.items()
        if (context, ids) not in in_template
    )
    assert not missing, (
        f"{len(missing)} string(s) in the source are not in srs/translations/messages.pot "
        "(run `make update-messages`, then translate them):\n  " + "\n  ".join(missing)
    )
    stale = sorted(repr(ids[0]) for context, ids in in_template - set(in_source))
    assert not stale, (
        f"{len(stale)} string(s) in messages.pot are no longer in the source; run `make update-messages`:\n  "
        + "\n  ".join(stale)
    )

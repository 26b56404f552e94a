"""Physical's own translation catalog (``addons/physical/translations``), apart from the core's."""

from __future__ import annotations

from pathlib import Path

from core.api import AddonTranslations

translations = AddonTranslations(Path(__file__).parent / "translations")
_ = translations.gettext
_l = translations.lazy_gettext
ngettext = translations.ngettext
render_template = translations.render_template

"""Translations for add-ons: each add-on has its own catalog, apart from the core's.

Merging an add-on's messages into the core's catalog would let it change the core's
words and plural rules; a separate Flask-Babel domain cannot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import render_template
from flask_babel import Domain, get_translations
from jinja2.ext import _make_new_gettext, _make_new_ngettext


class AddonTranslations:
    """The gettext functions of one add-on, bound to its own ``translations/`` folder.

    ``translations`` holds ``<lang>/LC_MESSAGES/messages.mo`` files (compile them with
    ``pybabel compile -d translations``).
    """

    def __init__(self, folder: str | Path) -> None:
        self.domain = Domain(translation_directories=[str(folder)], domain="messages")

    def gettext(self, string: str, **variables: Any) -> str:
        return str(self.domain.gettext(string, **variables))

    def ngettext(self, singular: str, plural: str, num: int, **variables: Any) -> str:
        return str(self.domain.ngettext(singular, plural, num, **variables))

    def lazy_gettext(self, string: str, **variables: Any) -> Any:
        """For texts built at import time (labels), translated when shown."""
        return self.domain.lazy_gettext(string, **variables)

    def render_template(self, name: str, **context: Any) -> str:
        """``flask.render_template`` with ``_``, ``gettext`` and ``ngettext`` from this catalog.

        Applies to the template and what it includes; a macro file imported without
        context uses the core's catalog.
        """
        # Jinja's own new-style wrappers: they escape the variables of a {% trans %} block.
        gettext = _make_new_gettext(self._template_gettext)
        ngettext = _make_new_ngettext(self._template_ngettext)
        context.update(gettext=gettext, _=gettext, ngettext=ngettext)
        return render_template(name, **context)

    # The template's context reaches the core templates it extends (base.html). A message
    # the core translates keeps the core's words and plural rule; only the others come
    # from this catalog, so that an add-on can never change what the core says.
    def _template_gettext(self, string: str) -> str:
        core = get_translations()
        if string in getattr(core, "_catalog", {}):
            return str(core.ugettext(string))
        return str(self.domain.get_translations().ugettext(string))

    def _template_ngettext(self, singular: str, plural: str, num: int) -> str:
        core = get_translations()
        if (singular, 0) in getattr(core, "_catalog", {}):
            return str(core.ungettext(singular, plural, num))
        return str(self.domain.get_translations().ungettext(singular, plural, num))

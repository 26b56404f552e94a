"""Helpers for markup repeated on every row of a list (session cards, calendar entries, options).

A Jinja macro call costs about 20 µs and ``url_for`` about 15 µs. A page of 50 session
cards made some twenty of each per card, most of the page's time. These helpers do that
work once per page (:func:`row_url`) or in plain Python (:func:`option_tags`,
:class:`LongSelect`). The first two are template globals (registered by the coach
blueprint), so the client area uses them too; so is :func:`first_choice`, for the shared
``field`` macro.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from functools import cached_property
from typing import Any

from flask import g
from markupsafe import Markup, escape
from wtforms.fields.choices import Choice, SelectChoice, SelectField, SelectFieldBase
from wtforms.widgets import Select
from wtforms.widgets.core import html_params

from core.urls import url_pattern


def row_url(endpoint: str, key: str, ident: int, **values: Hashable) -> str:
    """``url_for(endpoint, **{key: ident}, **values)`` for one row of a list, through a
    :func:`core.urls.url_pattern` made once per request for each endpoint and ``values``:
    a macro called once per row (a session card) cannot make the pattern before the loop."""
    patterns: dict[tuple[Any, ...], Callable[[int], str]] = g.setdefault("_row_url_patterns", {})
    pattern_key = (endpoint, key, tuple(sorted(values.items())))
    pattern = patterns.get(pattern_key)
    if pattern is None:
        pattern = patterns[pattern_key] = url_pattern(endpoint, key, **values)
    return pattern(ident)


def option_tags(choices: Iterable[tuple[Any, Any]], selected: Any = None) -> Markup:
    """The ``<option>`` tags of ``(value, label)`` pairs, ``selected`` marked (escaped)."""
    return Markup(  # noqa: S704 (values and labels are escaped)
        "".join(
            f'\n<option value="{escape(value)}"{" selected" if value == selected else ""}>'
            f"{escape(label)}</option>"
            for value, label in choices
        )
    )


def first_choice(field: SelectFieldBase) -> Any:
    """The value of a select's first option (None when it has none): ``(field|first).data``
    without building every option as a field (Jinja's ``first`` iterates the field, and
    WTForms makes all its options first: 600 for a time zone select).

    Choices are read as WTForms reads them: a list of choices (``SelectChoice``, pairs,
    strings), or a dict of groups (shorthand ``{value: label}`` and ``{group: {value:
    label}}``, or ``{group: [choices]}``). A field that lists its own options is iterated.
    """
    if type(field).iter_choices is not SelectField.iter_choices:
        option = next(iter(field), None)
        return None if option is None else option.data
    choices: Any = field.choices
    if isinstance(choices, dict):
        if all(isinstance(v, (str, dict)) for v in choices.values()):  # the shorthand
            for key, value in choices.items():
                if not isinstance(value, dict):
                    return key
                for inner in value:
                    return inner
            return None
        choices = (choice for group in choices.values() for choice in group)
    for choice in choices or ():
        return SelectChoice.from_input(choice).value
    return None


def _option_tail(value: Any, label: Any) -> str:
    """An option's markup after ``<option `` and its ``selected``, escaped."""
    return f'value="{escape(str(value))}">{escape(label or value)}</option>'


class FixedChoice(SelectChoice):
    """A choice whose value and label never change (a time zone): :class:`LongSelect`
    escapes it once, for the life of the choice, not once per form."""

    @cached_property
    def option_tail(self) -> str:
        return _option_tail(self.value, self.label)


class LongSelect(Select):
    """WTForms' select widget, each option written by one f-string.

    WTForms builds every option's attributes through ``html_params`` (about 10 µs an
    option): 10 ms for the editor's client list of an administrator with 1,000 clients,
    5 ms for the 500 time zones of a profile form. A plain list of choices (no groups, no
    option attributes) is written straight from the field's choices, without WTForms'
    ``Choice`` for each option; a :class:`FixedChoice` is escaped once. The markup is the same.
    """

    def __call__(self, field: SelectFieldBase, **kwargs: Any) -> Markup:
        choices = getattr(field, "choices", None)
        if (
            self.multiple
            or type(field).iter_choices is not SelectField.iter_choices
            or not isinstance(choices, list)
            or not all(isinstance(c, SelectChoice) for c in choices)
            or any(c.render_kw or c.optgroup is not None for c in choices)
        ):
            return super().__call__(field, **kwargs)  # type: ignore[no-any-return]
        kwargs.setdefault("id", field.id)  # the opening tag as Select.__call__ writes it
        flags = field.flags
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        coerce, data = field.coerce, field.data  # type: ignore[attr-defined]
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for choice in choices:
            selected = "selected " if coerce(choice.value) == data else ""
            if isinstance(choice, FixedChoice):
                tail = choice.option_tail
            else:
                tail = _option_tail(choice.value, choice.label)
            html.append(f"<option {selected}{tail}")
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 (escaped)

    @classmethod
    def render_option(cls, choice: Choice, **kwargs: Any) -> Markup:
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        selected = "selected " if choice.selected else ""
        tail = _option_tail(choice.value, choice.label)
        return Markup(f"<option {selected}{tail}")  # noqa: S704 (escaped)

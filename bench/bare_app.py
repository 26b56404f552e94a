"""The yardstick of the side-by-side bench: a bare Flask + Jinja page, no database.

``side_by_side.py`` serves it with the same gunicorn settings as Coachdesk and loads
it seconds before each Coachdesk page: what Flask, Jinja and gunicorn cost on their
own for a page of similar size and shape (a layout with a navigation bar, a heading,
a filter form and a table of 50 sessions, about 16 KB), on the same machine at the
same moment. The rows are built once at start-up; each request renders them through
template inheritance, a macro, escaping and ``url_for``, as a real page does.

Serve it on its own with::

    .venv/bin/gunicorn --pythonpath bench -w 2 -b 127.0.0.1:8001 bare_app:app
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, render_template
from jinja2 import DictLoader

LAYOUT = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{% block title %}{% endblock %} · Bare</title>
  <link rel="stylesheet" href="{{ url_for('static', filename='site.css') }}">
  <script src="{{ url_for('static', filename='site.js') }}" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar">
  <a class="brand" href="{{ url_for('page') }}">Bare</a>
  <nav aria-label="Main">
  {%- for label, path in nav %}
    <a href="{{ path }}"{% if path == request.path %} aria-current="page"{% endif %}>
      <svg class="icon" aria-hidden="true"><use href="#i-{{ loop.index }}"/></svg>
      <span>{{ label }}</span></a>
  {%- endfor %}
  </nav>
  <form class="inline-form" method="post" action="/logout">
    <input type="hidden" name="csrf_token" value="{{ token }}">
    <button type="submit" class="btn btn-ghost btn-sm">Sign out</button>
  </form>
</header>
<main id="main" class="container">
{% block content %}{% endblock %}
</main>
<footer class="site-footer"><p>Bare · {{ now.year }}</p></footer>
</body>
</html>
"""

PAGE = """{% extends "layout.html" %}
{% macro badge(kind, text) %}<span class="badge badge-{{ kind }}">{{ text }}</span>{% endmacro %}
{% block title %}Sessions{% endblock %}
{% block content %}
<div class="page-header"><h1>Sessions</h1>
  <p class="muted">{{ rows|length }} sessions, latest first</p></div>
<form class="filters" method="get" role="search">
  <label>Client <input type="search" name="client" value=""></label>
  <label>Status <select name="status">
  {%- for value, label in statuses %}<option value="{{ value }}">{{ label }}</option>{% endfor %}
  </select></label>
  <button type="submit" class="btn">Filter</button>
</form>
<div class="table-wrap"><table class="table">
<thead><tr><th scope="col">Date</th><th scope="col">Time</th><th scope="col">Client</th>
<th scope="col">Coach</th><th scope="col">Status</th><th scope="col">Payment</th>
<th scope="col" class="num">Price</th>
<th scope="col"><span class="sr-only">Open</span></th></tr></thead>
<tbody>
{%- for row in rows %}
<tr>
  <td>{{ row.start.strftime("%a %d %b %Y") }}</td>
  <td>{{ row.start.strftime("%H:%M") }}</td>
  <td><a href="{{ url_for('page', client=row.client_id) }}">{{ row.client }}</a>
    <span class="muted small">{{ row.email }}</span></td>
  <td>{{ row.coach }}</td>
  <td>{{ badge(row.status, row.status|capitalize) }}</td>
  <td>{{ badge(row.payment, row.payment|capitalize) }}</td>
  <td class="num">{{ "%.2f"|format(row.price / 100) }} €</td>
  <td><a class="btn btn-sm" href="{{ url_for('page', session=row.id) }}">Open</a></td>
</tr>
{%- endfor %}
</tbody></table></div>
<nav class="pagination" aria-label="Pages">
{%- for n in range(1, 8) %}<a href="{{ url_for('page', page=n) }}">{{ n }}</a>{% endfor %}
</nav>
{% endblock %}
"""

NAV = [
    ("Home", "/"),
    ("Calendar", "/calendar"),
    ("My clients", "/clients"),
    ("Sessions", "/sessions"),
    ("Payments", "/payments"),
    ("Emails", "/emails"),
    ("Settings", "/settings"),
    ("Profile", "/profile"),
]
STATUSES = [("", "Any status"), ("booked", "Booked"), ("completed", "Completed")]


def _rows() -> list[dict[str, object]]:
    """Fifty sessions' worth of display data (with characters that need escaping)."""
    start = datetime(2026, 11, 30, 9, tzinfo=UTC)
    return [
        {
            "id": 1000 + n,
            "start": start - timedelta(days=n, hours=n % 5),
            "client_id": 10 + n,
            "client": f"Chloé O'Martin-{n} & Co",
            "email": f"client{n}@example.com",
            "coach": f"Hugo <Dubois> {n % 10}",
            "status": ("completed", "booked", "cancelled")[n % 3],
            "payment": ("paid", "pending")[n % 2],
            "price": 5000 + n * 25,
        }
        for n in range(50)
    ]


app = Flask(__name__, static_folder=None)
app.jinja_loader = DictLoader({"layout.html": LAYOUT, "page.html": PAGE})
app.add_url_rule("/static/<path:filename>", "static", lambda filename: ("", 404))
ROWS = _rows()


@app.route("/")
def page() -> str:
    return render_template(
        "page.html",
        rows=ROWS,
        nav=NAV,
        statuses=STATUSES,
        token="x" * 40,
        now=datetime.now(UTC),
    )

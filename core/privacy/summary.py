"""``summary.pdf``: the export's ``data.json`` in words, for a person rather than a program.

Drawn with reportlab's built-in Helvetica like receipts (``pdf_safe`` keeps the text
within the fonts' Windows-1252 range), in the language and time zone of the request.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from babel.dates import format_date, format_datetime
from flask_babel import get_locale
from flask_babel import gettext as _

from core.i18n import local_time, money, site_timezone, zone
from core.payments.receipts import pdf_safe


class _Writer:
    """Lines of text down A4 pages, a new page when one is full."""

    def __init__(self, title: str) -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.pdfgen.canvas import Canvas

        self.buffer = io.BytesIO()
        self.pdf = Canvas(self.buffer, pagesize=A4, pageCompression=1)
        self.pdf.setTitle(pdf_safe(title))
        self.width, self.height = A4
        self.mm = mm
        self.left = 20 * mm
        self.y = self.height - 25 * mm

    def line(self, text: str, size: int = 10, bold: bool = False, gap: float = 5.5) -> None:
        from reportlab.lib.utils import simpleSplit

        font = "Helvetica-Bold" if bold else "Helvetica"
        for part in simpleSplit(pdf_safe(text), font, size, self.width - 2 * self.left) or [""]:
            if self.y < 20 * self.mm:
                self.pdf.showPage()
                self.y = self.height - 20 * self.mm
            self.pdf.setFont(font, size)
            self.pdf.drawString(self.left, self.y, part)
            self.y -= gap * self.mm

    def heading(self, text: str) -> None:
        self.y -= 4 * self.mm
        self.line(text, size=13, bold=True, gap=7)

    def finish(self) -> bytes:
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def summary_pdf(data: dict[str, Any]) -> bytes:
    """The summary of an export (``core.privacy.export.export_data``) as a PDF."""
    locale = str(get_locale() or "en")
    tz = zone(data["profile"]["timezone"]) if data["profile"]["timezone"] else site_timezone()

    # local_time: an instant at the calendar's end (year 9999) cannot move east of UTC.
    def day(iso: str | None) -> str:
        return (
            format_date(local_time(datetime.fromisoformat(iso), tz), "long", locale=locale)
            if iso
            else ""
        )

    def moment(iso: str) -> str:
        return format_datetime(local_time(datetime.fromisoformat(iso), tz), "medium", locale=locale)

    profile = data["profile"]
    title = _("Your data at %(site)s", site=data["site"])
    out = _Writer(title)
    out.line(title, size=18, bold=True, gap=9)
    out.line(
        _(
            "Prepared on %(date)s. The complete data is in data.json (schema version %(v)s).",
            date=moment(data["generated_at"]),
            v=data["version"],
        )
    )

    out.heading(_("Profile"))
    full_name = " ".join((profile["first_name"], profile["last_name"]))
    out.line(_("Name: %(name)s", name=full_name))
    out.line(_("Email: %(email)s", email=profile["email"]))
    if profile["phone"]:
        out.line(_("Phone: %(phone)s", phone=profile["phone"]))
    out.line(_("Account created on %(date)s", date=day(profile["created_at"])))
    if profile["coaches"]:
        out.line(_("Coaches: %(names)s", names=", ".join(profile["coaches"])))
    feed = data["calendar_feed"]["enabled"]
    out.line(_("Calendar link: on") if feed else _("Calendar link: off"))

    out.heading(_("Sessions (%(n)s)", n=len(data["sessions"])))
    for s in data["sessions"]:
        documents = len(s["documents"])
        extra = _(", %(n)s document(s)", n=documents) if documents else ""
        out.line(f"{moment(s['starts_at'])}: {s['title']} ({s['status']}{extra})")

    out.heading(_("Payments (%(n)s)", n=len(data["payments"])))
    for p in data["payments"]:
        refunded = sum(r["amount"] for r in p["refunds"])
        line = f"{day(p['paid_at'])}: {money(p['amount'], p['currency'])} ({p['method']})"
        if refunded:
            line += " " + _("refunded: %(amount)s", amount=money(refunded, p["currency"]))
        out.line(line)

    out.heading(_("Receipts (%(n)s)", n=len(data["receipts"])))
    for r in data["receipts"]:
        out.line(
            _(
                "No. %(number)s of %(date)s: %(file)s",
                number=str(r["number"]).zfill(6),
                date=day(r["issued_at"]),
                file=r["file"],
            )
        )

    out.heading(_("Emails sent to you (%(n)s)", n=len(data["emails"])))
    for e in data["emails"]:
        out.line(f"{moment(e['created_at'])}: {e['subject']}")

    if data["bundles"]:
        out.heading(_("Programs (%(n)s)", n=len(data["bundles"])))
        for b in data["bundles"]:
            out.line(f"{b['title']}: {money(b['total_price'], b['currency'])} ({b['status']})")

    for name in data["addons"]:
        out.heading(_("From the add-on “%(name)s”", name=name))
        out.line(_("See data.json, under addons > %(name)s.", name=name))
    return out.finish()

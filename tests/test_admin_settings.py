"""Settings: tabs come from the hook; bad input gets a clear message and changes nothing."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader

from core.accounts.models import Role
from tests.conftest import post
from tests.helpers import image_bytes, option, set_options, upload

PNG = image_bytes("PNG")
FAKE_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # starts like a PNG, is not one
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<rect width="10" height="10"/></svg>'
)


def checkbox(html: str, name: str) -> str:
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert found, name
    return found.group(0)


def general(**changes: Any) -> dict[str, Any]:
    values = {
        "site_name": "Studio Forme",
        "timezone": "Europe/Paris",
        "currency": "EUR",
        "cancellation_window": "24",
        "admin_scope": "all",
    }
    values.update(changes)
    return values


@pytest.fixture
def admin(as_role: Callable[..., Any]) -> Any:
    return as_role(Role.ADMIN)[0]


def test_tabs_are_the_hook_results_in_order(admin: Any) -> None:
    response = admin.get("/admin/settings")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/settings/general")
    html = admin.get("/admin/settings/general").get_data(as_text=True)
    positions = [
        html.index(f'href="/admin/settings/{key}"') for key in ("general", "style", "permissions")
    ]
    assert positions == sorted(positions)
    assert admin.get("/admin/settings/nope").status_code == 404


def test_general_saves_and_redirects_with_a_flash(admin: Any, app: Flask) -> None:
    response = post(
        app,
        admin,
        "/admin/settings/general",
        general(timezone="America/New_York", currency=" chf ", cancellation_window="48"),
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/settings/general")
    assert option(app, "general.timezone") == "America/New_York"
    assert option(app, "general.currency") == "CHF"
    assert option(app, "general.cancellation_window_hours") == 48
    assert option(app, "general.site_name") == "Studio Forme"
    assert "Settings saved." in admin.get("/admin/settings/general").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "is not a known time zone"),
        ({"currency": "EURO"}, "is not an ISO currency code"),
        ({"currency": "XYZ"}, "is not an ISO currency code"),
        ({"cancellation_window": "36"}, "Not a valid choice"),
        ({"site_name": ""}, "This field is required."),
    ],
)
def test_general_bad_input_changes_nothing(
    admin: Any, app: Flask, changes: dict[str, str], message: str
) -> None:
    before = {
        k: option(app, k) for k in ("general.timezone", "general.currency", "general.site_name")
    }
    response = post(
        app, admin, "/admin/settings/general", general(**{"site_name": "Changed", **changes})
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert {k: option(app, k) for k in before} == before


def test_style_colours_are_validated_and_applied_to_every_page(admin: Any, app: Flask) -> None:
    bad = post(app, admin, "/admin/settings/style", {"accent": "red", "text": "#12345"})
    assert bad.status_code == 200
    assert "Use a colour such as #0f766e" in bad.get_data(as_text=True)
    assert option(app, "style.accent") == ""

    ok = post(app, admin, "/admin/settings/style", {"accent": "#FFD60A", "background": "#fafaf9"})
    assert ok.status_code == 302
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "--accent: #ffd60a;" in page
    assert "--accent-contrast: #111827;" in page  # yellow accent: dark text on buttons
    assert "--bg: #fafaf9;" in page
    login_page = app.test_client().get("/connexion").get_data(as_text=True)
    assert "--accent: #ffd60a;" in login_page


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"GIF89a not allowed", "logo.png", "The logo must be a PNG, JPEG, WebP or SVG image."),
        (FAKE_PNG, "logo.png", "The logo must be a PNG, JPEG, WebP or SVG image."),
        (PNG[:-30], "cut.png", "This image is damaged or incomplete"),
        (
            image_bytes("PNG", (15000, 15000), mode="1"),
            "huge.png",
            "The image has too many pixels; at most 4000 × 4000 are accepted.",
        ),
        (
            image_bytes("PNG", (4500, 300), mode="1"),
            "wide.png",
            "The image is 4500 × 300 pixels; at most 4000 × 4000 are accepted.",
        ),
        (
            SVG.replace(b"<rect", b'<image href="data:image/png;base64,iVBORw0KGgoAAAA="/><rect'),
            "l.svg",
            "has scripts or external references",
        ),
        (
            SVG.replace(b"<rect", b"<script>alert(1)</script><rect"),
            "l.svg",
            "has scripts or external references",
        ),
        (
            SVG.replace(b"<rect", b'<image href="https://evil.test/x.png"/><rect'),
            "l.svg",
            "has scripts or external references",
        ),
        (FAKE_PNG + b"\x00" * (2 * 1024 * 1024), "big.png", "The logo is larger than 2 MB."),
        (b"", "empty.png", "The file is empty."),
    ],
)
def test_style_refuses_bad_logos_and_keeps_nothing(
    admin: Any, app: Flask, data: bytes, filename: str, message: str
) -> None:
    branding = Path(app.config["STORAGE_PATH"]) / "branding"
    before = set(branding.glob("*"))
    refused = upload(app, admin, "/admin/settings/style", {"logo": (io.BytesIO(data), filename)})
    assert refused.status_code == 200
    assert message in refused.get_data(as_text=True)
    assert option(app, "style.logo") == ""
    assert set(branding.glob("*")) == before


def test_style_logo_is_served_replaced_and_removed(admin: Any, app: Flask) -> None:
    saved = upload(
        app,
        admin,
        "/admin/settings/style",
        {"logo": (io.BytesIO(SVG), "logo.svg"), "login_title": "Bienvenue au studio"},
    )
    assert saved.status_code == 302
    name = option(app, "style.logo")
    assert name.endswith(".svg")
    visitor = app.test_client()
    served = visitor.get(f"/branding/{name}")
    assert served.status_code == 200
    assert served.mimetype == "image/svg+xml"
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]
    login_html = visitor.get("/connexion").get_data(as_text=True)
    assert f"/branding/{name}" in login_html
    assert "Bienvenue au studio" in login_html

    replaced = upload(app, admin, "/admin/settings/style", {"logo": (io.BytesIO(PNG), "logo.png")})
    assert replaced.status_code == 302
    assert visitor.get(f"/branding/{name}").status_code == 404  # the old file is gone
    assert not (Path(app.config["STORAGE_PATH"]) / "branding" / name).exists()
    assert post(app, admin, "/admin/settings/style", {"remove_logo": "y"}).status_code == 302
    assert option(app, "style.logo") == ""


def test_style_logo_may_be_webp_or_an_svg_with_a_checked_embedded_image(
    admin: Any, app: Flask
) -> None:
    webp = image_bytes("WEBP")
    saved = upload(app, admin, "/admin/settings/style", {"logo": (io.BytesIO(webp), "l.webp")})
    assert saved.status_code == 302
    served = app.test_client().get(f"/branding/{option(app, 'style.logo')}")
    assert served.mimetype == "image/webp" and served.data == webp
    embedded = "data:image/png;base64," + base64.b64encode(PNG).decode()
    svg = SVG.replace(b"<rect", f'<image href="{embedded}"/><rect'.encode())
    saved = upload(app, admin, "/admin/settings/style", {"login_logo": (io.BytesIO(svg), "l.svg")})
    assert saved.status_code == 302
    assert option(app, "style.login_logo").endswith(".svg")


def test_permissions_are_saved_and_take_effect(admin: Any, app: Flask) -> None:
    response = post(
        app, admin, "/admin/settings/permissions", {"view_clients": "y", "view_sessions": "y"}
    )
    assert response.status_code == 302
    assert option(app, "permissions.coach") == ["view_clients", "view_sessions"]
    html = admin.get("/admin/settings/permissions").get_data(as_text=True)
    assert "checked" in checkbox(html, "view_clients")
    assert "checked" not in checkbox(html, "create_clients")


def test_settings_are_for_admins_only(as_role: Callable[..., Any]) -> None:
    for role in (Role.COACH, Role.CLIENT):
        web, _ = as_role(role)
        for url in (
            "/admin/settings/general",
            "/admin/settings/permissions",
            "/admin/settings/style",
        ):
            assert web.get(url).status_code == 403


def test_general_hides_client_cards_and_sets_admin_scope(admin: Any, app: Flask) -> None:
    set_options(app, clientarea__hidden_cards=["inactive-addon-card"])
    html = admin.get("/admin/settings/general").get_data(as_text=True)
    assert "checked" in checkbox(html, "card-total")  # every card shows by default
    form = general(admin_scope="own")
    form.update({"card-total": "y", "card-completed": "y", "card-time": "y", "card-next": "y"})
    assert post(app, admin, "/admin/settings/general", form).status_code == 302
    assert option(app, "clientarea.hidden_cards") == ["inactive-addon-card", "spent"]
    assert option(app, "coach.admin_scope") == "own"
    html = admin.get("/admin/settings/general").get_data(as_text=True)
    assert "checked" not in checkbox(html, "card-spent")
    bad = post(app, admin, "/admin/settings/general", general(admin_scope="everyone"))
    assert bad.status_code == 200 and option(app, "coach.admin_scope") == "own"


def test_receipt_logo_accepts_png_or_jpeg_only(admin: Any, app: Flask) -> None:
    svg = upload(
        app,
        admin,
        "/admin/settings/general",
        {**general(), "receipt_logo": (io.BytesIO(SVG), "logo.svg")},
    )
    assert "The logo must be a PNG or JPEG image." in svg.get_data(as_text=True)
    assert option(app, "receipts.logo") == ""
    png = upload(
        app,
        admin,
        "/admin/settings/general",
        {**general(business_name="Forme SARL"), "receipt_logo": (io.BytesIO(PNG), "r.png")},
    )
    assert png.status_code == 302
    path = Path(option(app, "receipts.logo"))
    assert path.is_absolute() and path.read_bytes() == PNG  # what the receipt renderer reads
    assert option(app, "receipts.business_name") == "Forme SARL"


def test_replacing_the_receipt_logo_keeps_the_one_earlier_receipts_print(
    admin: Any, app: Flask, as_role: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    from tests.test_clientarea_pages import add_session
    from tests.test_receipts_issue import PAST

    first, second = image_bytes("PNG", (60, 20)), image_bytes("JPEG", (60, 20))

    def receipt_logo(data: bytes, name: str) -> Path:
        form = {**general(), "receipt_logo": (io.BytesIO(data), name)}
        assert upload(app, admin, "/admin/settings/general", form).status_code == 302
        return Path(option(app, "receipts.logo"))

    def inlined(data: bytes, kind: str) -> str:
        return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"

    first_path = receipt_logo(first, "first.png")
    # The same image as the site logo shares the file; dropping it there keeps it for receipts.
    upload(app, admin, "/admin/settings/style", {"logo": (io.BytesIO(first), "logo.png")})
    assert option(app, "style.logo") == first_path.name
    assert post(app, admin, "/admin/settings/style", {"remove_logo": "y"}).status_code == 302
    assert first_path.read_bytes() == first

    browser, client = as_role(Role.CLIENT)
    coach = make_user(Role.COACH)
    early = add_session(app, client, coach, starts_at=PAST, paid=True)
    assert inlined(first, "png") in browser.get(f"/receipts/{early}").get_data(as_text=True)

    second_path = receipt_logo(second, "second.jpg")
    assert second_path != first_path
    assert first_path.read_bytes() == first  # the issued receipt still prints it
    late = add_session(app, client, coach, starts_at=PAST, paid=True)
    assert inlined(first, "png") in browser.get(f"/receipts/{early}").get_data(as_text=True)
    assert inlined(second, "jpeg") in browser.get(f"/receipts/{late}").get_data(as_text=True)
    assert PdfReader(io.BytesIO(browser.get(f"/receipts/{early}.pdf").data)).pages[0].images

    form = {**general(), "remove_receipt_logo": "y"}
    assert post(app, admin, "/admin/settings/general", form).status_code == 302
    assert option(app, "receipts.logo") == ""
    assert first_path.exists() and second_path.exists()


def test_coach_without_create_clients_cannot_add_a_client(
    admin: Any, app: Flask, as_role: Callable[..., Any]
) -> None:
    coach, _ = as_role(Role.COACH)
    assert coach.get("/mes-clients/new").status_code == 200
    boxes = {cap: "y" for cap in ("view_clients", "edit_clients", "view_sessions", "edit_sessions")}
    assert post(app, admin, "/admin/settings/permissions", boxes).status_code == 302
    assert coach.get("/mes-clients/new").status_code == 403
    assert coach.get("/mes-clients").status_code == 200


def test_what_pages_derive_from_options_is_worked_out_once_and_follows_a_change(
    app: Flask,
) -> None:
    """Coach capabilities, the menu and the site name are computed once per request (a
    page asks for them several times) and a change saved in that request shows at once."""
    from core.accounts.permissions import CAPABILITIES, coach_capabilities
    from core.db import db
    from core.settings import set_option

    with app.test_request_context():
        granted = coach_capabilities()
        assert granted and coach_capabilities() is granted
        context: dict[str, Any] = {}
        app.update_template_context(context)
        assert context["site_name"] == "Coachdesk"
        set_option("permissions.decided", sorted(CAPABILITIES))
        set_option("permissions.coach", ["view_clients"])
        set_option("general.site_name", "Studio Forme")
        assert coach_capabilities() == {"view_clients"}
        after: dict[str, Any] = {}
        app.update_template_context(after)
        assert after["site_name"] == "Studio Forme"
        db.rollback()

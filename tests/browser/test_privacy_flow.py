"""Chromium: a client downloads their data (a ZIP with data.json, their PDFs and
summary.pdf), an administrator erases them after typing their name, the client can no
longer sign in, and their receipt still prints, with the erasure note. Phone and desktop
screenshots of the client's "Your data" card and the staff's Data & privacy tab."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from flask import Flask

from core.accounts.models import Role
from tests.conftest import PASSWORD, browser_login, screenshot
from tests.test_privacy import PDF, World, pdf_text, world

pytestmark = pytest.mark.browser
__all__ = ["world"]


def test_client_downloads_admin_erases_receipt_still_prints(  # type: ignore[no-untyped-def]
    page, browser, live_server: str, app: Flask, make_user, world: World
) -> None:
    browser_login(page, live_server, app, world.client.email, PASSWORD)
    page.wait_for_url(f"{live_server}/accueil-client/**")
    page.goto(f"{live_server}/accueil-client/profile#your-data")
    screenshot(page, "privacy-client-profile")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data").click()
    archive = zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes()))
    names = set(archive.namelist())
    assert {"data.json", "summary.pdf", "receipts/receipt-000001.pdf"} <= names
    assert archive.read(f"documents/{world.document_id}-plan.pdf") == PDF
    assert json.loads(archive.read("data.json"))["profile"]["email"] == world.client.email
    assert "Chloé Martin" in pdf_text(archive.read("summary.pdf"))

    admin = make_user(Role.ADMIN, first_name="Ada", last_name="Admin")
    admin_context = browser.new_context()
    admin_page: Any = admin_context.new_page()
    browser_login(admin_page, live_server, app, admin.email, PASSWORD)
    admin_page.wait_for_url(f"{live_server}/admin/**")
    admin_page.goto(f"{live_server}/customer/{world.client.id}/privacy")
    admin_page.fill("input[name=confirm_name]", "Chloé Martinez")
    with admin_page.expect_navigation():
        admin_page.get_by_role("button", name="Erase Chloé Martin").click()
    assert "exactly as shown" in admin_page.inner_text(".flashes")
    screenshot(admin_page, "privacy-staff-tab")
    admin_page.fill("input[name=confirm_name]", "Chloé Martin")
    with admin_page.expect_navigation():
        admin_page.get_by_role("button", name="Erase Chloé Martin").click()
    assert f"Erased client #{world.client.id}" in admin_page.inner_text(".flashes")
    assert "Audit log" in admin_page.inner_text("main")
    screenshot(admin_page, "privacy-staff-tab-erased")

    # The client was signed out, and cannot sign in again.
    page.goto(f"{live_server}/accueil-client/profile")
    assert "/accueil-client" not in page.url
    browser_login(page, live_server, app, world.client.email, PASSWORD)
    page.wait_for_load_state()
    assert "/accueil-client" not in page.url

    # The receipt still prints, anonymised, with the erasure note.
    admin_page.goto(f"{live_server}/receipts/{world.paid_id}")
    receipt = admin_page.inner_text("article")
    assert "accounting law requires it" in receipt and "Chloé" not in receipt
    pdf = admin_page.request.get(f"{live_server}/receipts/{world.paid_id}.pdf")
    assert pdf.ok
    printed = pdf_text(pdf.body())
    assert "accounting law" in printed and f"Erased client #{world.client.id}" in printed
    admin_context.close()

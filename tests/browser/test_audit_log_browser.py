"""An admin changes only the overlap on the settings page, reads "admin changed overlap 2 → 3" in
the audit log, filters it by who, action and date, and downloads the filtered entries as CSV, at
a desktop and a phone width. The instructions, sent back by the browser with CRLF line endings,
log nothing. A lead has no audit log (README, Roles: admins read it): no link, 403."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from annotator.models import AuditEntry
from annotator.projects import project_update
from tests import factories
from tests.browser.test_phone_width_browser import _log_in, _page_width

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SENTENCE = "admin changed overlap 2 → 3"


@pytest.fixture
def project():
    project = factories.project(slug="audited", overlap=2, instructions="Read both answers.\nPick the more helpful one.")
    factories.member(project, "admin", username="admin")
    lead = factories.member(project, "lead", username="lead")
    project_update(project=project, actor=lead, fields={"lease_seconds": project.lease_seconds + 60})
    return project


def _rows(page):
    return page.locator("table.data tbody tr")


def _filter(page, **values):
    page.goto(page.url.split("?")[0])
    for name, value in values.items():
        if name in ("actor", "action"):
            page.locator(f"#id_{name}").select_option(value)
        else:
            page.locator(f"#id_{name}").fill(value)
    page.get_by_role("button", name="Filter").click()


def test_an_admin_changes_the_overlap_and_reads_filters_and_downloads_it_in_the_audit_log(page_at, live_server, project):
    page, width = page_at
    _log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/projects/audited/settings/")
    page.locator("#id_overlap").fill("3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved: overlap.")).to_be_visible()
    updates = AuditEntry.objects.filter(project=project, action="project.update", actor_username="admin")
    assert [entry.detail for entry in updates] == [{"changes": {"overlap": [2, 3]}}]  # no "instructions"

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("cell", name=SENTENCE)).to_be_visible()
    expect(page.get_by_role("cell", name="lead changed lease_seconds", exact=False)).to_be_visible()
    assert _page_width(page) <= width

    _filter(page, actor="admin")
    expect(page.get_by_role("cell", name=SENTENCE)).to_be_visible()
    expect(page.get_by_role("cell", name="lead changed", exact=False)).to_have_count(0)
    _filter(page, action="project.update")
    expect(_rows(page)).to_have_count(2)
    today = timezone.localdate()
    _filter(page, since=str(today + timedelta(days=1)))
    expect(_rows(page)).to_have_text(["No entries match."])
    _filter(page, actor="admin", action="project.update", since=str(today), until=str(today))
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text(SENTENCE)
    assert _page_width(page) <= width

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these as CSV").click()
    assert download.value.suggested_filename == "audited-audit.csv"
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert [(row["actor"], row["action"], row["sentence"], json.loads(row["detail"])) for row in rows] == [
        ("admin", "project.update", SENTENCE, {"changes": {"overlap": [2, 3]}})
    ]
    assert rows[0]["when"].startswith(str(today))


def test_a_lead_has_no_audit_log(page, live_server, project):
    _log_in(page, live_server, "lead")
    page.goto(f"{live_server.url}/projects/audited/settings/")
    expect(page.get_by_role("link", name="Members")).to_be_visible()
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    assert page.goto(f"{live_server.url}/projects/audited/audit/").status == 403
    assert page.request.get(f"{live_server.url}/projects/audited/audit.csv").status == 403

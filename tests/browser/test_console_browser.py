"""A project set up in a real browser: create it, edit its settings (with the live preview),
add a member and change their role, as a lead or staff member would with keyboard and mouse."""

import pytest
from playwright.sync_api import expect

from annotator.models import AuditEntry, Membership, Project
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_creates_a_project_edits_its_settings_and_adds_a_member(page, live_server):
    factories.user("staffer", is_staff=True)
    factories.user("alice")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "staffer")
    page.fill("#id_password", factories.PASSWORD)
    page.keyboard.press("Enter")

    page.get_by_role("link", name="New project").click()
    page.fill("#id_slug", "support")
    page.fill("#id_name", "Support answers")
    page.select_option("#id_mode", "ranking")
    page.fill("#id_completions_shown", "3")
    page.fill("#id_instructions", "Prefer the **shortest** correct answer")
    # The preview comes back from the server's sanitiser: markdown becomes <strong>.
    expect(page.locator("#instructions-preview strong")).to_have_text("shortest")
    page.get_by_role("button", name="Create project").click()

    expect(page.get_by_role("heading", name="Settings of Support answers")).to_be_visible()
    project = Project.objects.get(slug="support")
    assert (project.mode, project.completions_shown, project.instructions) == (
        "ranking",
        3,
        "Prefer the **shortest** correct answer",
    )
    page.fill("#id_overlap", "2")
    page.focus("#id_allow_tie")
    page.keyboard.press("Space")  # untick "allow tie" from the keyboard
    page.fill("#id_instructions", "Prefer <b>nothing</b> raw")
    expect(page.locator("#instructions-preview")).to_contain_text("<b>nothing</b>")  # shown as text, not bold
    expect(page.locator("#instructions-preview b")).to_have_count(0)
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".messages")).to_contain_text("Saved: overlap, instructions, allow_tie.")
    project.refresh_from_db()
    assert (project.overlap, project.allow_tie) == (2, False)

    page.get_by_role("link", name="Members").click()
    page.fill("#id_username", "alice")
    page.select_option("#id_role", "labeler")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(".messages")).to_contain_text("alice added as labeler.")
    row = page.locator("tr", has_text="alice")
    row.get_by_label("Role of alice").select_option("lead")
    row.get_by_role("button", name="Change role").click()
    expect(page.locator(".messages")).to_contain_text("alice is now lead.")
    assert Membership.objects.get(project=project, user__username="alice").role == "lead"

    page.get_by_role("link", name="Audit log").click()
    for action in ("project.create", "project.update", "member.add", "member.role"):
        expect(page.locator("table")).to_contain_text(action)
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        "project.create",
        "project.update",
        "member.add",
        "member.role",
    ]

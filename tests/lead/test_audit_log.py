import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from annotator.audit_log import audit_record
from annotator.audit_sentences import SENTENCES, audit_sentence
from annotator.export_formats import FORMULA_STARTS
from annotator.models import AuditEntry
from annotator.projects import project_update
from tests.lead.test_console_pages import settings_post

pytestmark = pytest.mark.django_db


def test_an_audit_entry_keeps_who_and_where_after_both_are_deleted(project, lead):
    slug = project.slug
    audit_record(actor=lead, project=project, action="member.add", detail={"username": "alice"})
    project.delete()
    lead.delete()
    entry = AuditEntry.objects.get()
    assert (entry.project, entry.actor) == (None, None)
    assert (entry.project_slug, entry.actor_username, entry.action) == (slug, "lead", "member.add")


def test_instructions_sent_with_crlf_line_endings_are_not_logged_as_a_change(client, project, lead):
    project.instructions = "Be kind.\n\nJudge the answer, not the style."
    project.save(update_fields=["instructions"])
    client.force_login(lead)
    as_the_browser_sends_it = project.instructions.replace("\n", "\r\n")
    response = client.post(
        reverse("project_settings", args=[project.slug]),
        settings_post(project, overlap=3, instructions=as_the_browser_sends_it),
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert entry.detail["changes"] == {"overlap": [1, 3]}
    project.refresh_from_db()
    assert project.instructions == "Be kind.\n\nJudge the answer, not the style."


def test_changed_instructions_are_stored_with_newlines_only(client, project, lead):
    client.force_login(lead)
    client.post(reverse("project_settings", args=[project.slug]), settings_post(project, instructions="One\r\nTwo\rThree"))
    project.refresh_from_db()
    assert project.instructions == "One\nTwo\nThree"
    assert AuditEntry.objects.get().detail["changes"] == {"instructions": ["", "One\nTwo\nThree"]}


def test_instructions_stored_with_crlf_earlier_are_not_logged_when_saved_unchanged(project, lead):
    project.instructions = "One\r\nTwo"
    project.save(update_fields=["instructions"])
    assert project_update(project=project, actor=lead, fields={"instructions": "One\nTwo", "overlap": 2}) == {
        "overlap": [1, 2]
    }
    assert AuditEntry.objects.get().detail["changes"] == {"overlap": [1, 2]}


# --- sentences -------------------------------------------------------------------------


def sentence_of(action, detail, actor="lead"):
    return audit_sentence(AuditEntry(action=action, detail=detail, actor_username=actor))


@pytest.mark.parametrize(
    "action, detail, actor, expected",
    [
        ("project.create", {"settings": {"slug": "p"}}, "admin", "admin created the project"),
        ("project.update", {"changes": {"overlap": [2, 3]}}, "lead", "lead changed overlap 2 → 3"),
        (
            "project.update", {"changes": {"name": ["Old", "New"], "allow_tie": [True, False]}}, "lead",
            'lead changed name "Old" → "New", allow_tie yes → no',
        ),
        ("member.add", {"username": "ann", "role": "labeler", "created_user": False}, "admin", "admin added ann as labeler"),
        (
            "member.add", {"username": "ann", "role": "labeler", "created_user": True}, "admin",
            "admin created the account ann and added it as labeler",
        ),
        ("member.role", {"username": "ann", "role": ["labeler", "lead"]}, "admin", "admin changed ann's role labeler → lead"),
        ("member.remove", {"username": "ann", "role": "lead"}, "admin", "admin removed ann (lead)"),
        ("judgment.undo", {"judgment": 12, "prompt": "p-7"}, "ann", 'ann undid their judgment #12 of prompt "p-7"'),
        ("prompt.gold", {"prompt": "p-7", "old": None, "new": [3, 4]}, "lead", 'lead made prompt "p-7" a gold item with the answer [3, 4]'),
        ("prompt.gold", {"prompt": "p-7", "old": [3, 4], "new": [4, 3]}, "lead", 'lead changed the gold answer of prompt "p-7" [3, 4] → [4, 3]'),
        (
            "prompt.gold", {"prompt": "p-7", "old": [3, 4], "new": None}, "lead",
            'lead made prompt "p-7" an ordinary prompt again (gold answer was [3, 4])',
        ),
        ("prompt.take_out", {"prompts": ["p-1", "p-2"], "count": 2}, "lead", 'lead took 2 prompts out of the queue: "p-1", "p-2"'),
        ("prompt.put_back", {"prompts": ["p-1"], "count": 1}, "lead", 'lead put 1 prompt back in the queue: "p-1"'),
        ("prompt.release", {"prompts": ["p-1"], "count": 51}, "lead", 'lead released the leases of 51 prompts: "p-1" and 50 more'),
        ("prompt.send_back", {"prompts": ["p-1"], "count": 1}, "lead", 'lead sent 1 prompt back for one more judgment: "p-1"'),
        ("prompt.lift_skips", {"prompts": [], "count": 0}, "lead", "lead lifted the skips of 0 prompts"),
        ("prompt.reassign", {"prompts": ["p-1"], "count": 1, "labeler": "ann"}, "lead", 'lead reassigned 1 prompt to ann: "p-1"'),
        (
            "model_version.pin", {"version": 2, "manifest_sha256": "ab" * 32, "manifest_size": 10}, "",
            "Arbiter pinned the manifest of version 2 (sha256 abababababab…)",
        ),
        (
            "model_version.refused", {"version": 2, "reason": "model.safetensors changed", "detected_by": "serving"}, "",
            'Arbiter refused version 2: "model.safetensors changed" (found by serving)',
        ),
        ("model_version.verified", {"version": 2, "detected_by": "verify_checkpoints"}, "", "Arbiter verified version 2 again (found by verify_checkpoints)"),
        (
            "login.lockout", {"scope": "login-username", "subject": "ann", "failures": 5, "seconds": 900}, "",
            'Arbiter locked out the username "ann" after 5 failed logins, for 900 s',
        ),
        ("login.unlock", {"scope": "login-address", "subject": "10.0.0.1"}, "admin", 'admin lifted the lock on the address "10.0.0.1"'),
        ("token.create", {"token": 1, "name": "laptop", "prefix": "abcd"}, "ann", 'ann created the API token "laptop" (abcd…)'),
        ("token.revoke", {"token": 1, "name": "laptop", "prefix": "abcd"}, "ann", 'ann revoked the API token "laptop" (abcd…)'),
        ("password.change", {}, "ann", "ann changed their password"),
        ("password.reset", {}, "ann", "ann set a new password from a reset e-mail"),
        (
            "rl_audit.items", {"samples": [1, 2, 3], "prompts_created": 2, "completions_created": 3}, "lead",
            "lead sent 3 RL samples to labeling (2 new prompts, 3 new completions)",
        ),
    ],
)  # fmt: skip
def test_each_action_reads_as_a_sentence(action, detail, actor, expected):
    assert sentence_of(action, detail, actor) == expected


def test_every_action_the_code_audits_has_a_sentence_of_its_own():
    root = Path(__file__).resolve().parents[2]
    written = set()
    for package in ("annotator", "rewardtrain"):
        for source in (root / package).rglob("*.py"):
            written |= set(re.findall(r'action="([a-z_]+\.[a-z_.]+)"', source.read_text()))
    assert written and written <= set(SENTENCES), written - set(SENTENCES)


def test_an_unknown_action_or_an_old_detail_reads_as_a_generic_sentence_never_a_dict():
    assert sentence_of("export.jsonl", {"rows": 3, "filters": {"gold": True}}) == 'lead did export.jsonl: rows 3; filters {"gold": true}'
    assert sentence_of("member.role", {"username": "ann"}, "admin") == 'admin did member.role: username "ann"'
    assert sentence_of("something.else", {}, "") == "Arbiter did something.else"


def test_long_values_are_cut_and_line_breaks_folded():
    sentence = sentence_of("project.update", {"changes": {"instructions": ["", "word\n" * 100]}})
    assert len(sentence) < 140 and sentence.endswith('…"') and "\n" not in sentence


def test_the_audit_page_shows_sentences_escaped(client, project, admin_user):
    client.force_login(admin_user)
    client.post(reverse("project_settings", args=[project.slug]), settings_post(project, overlap=3, name="<b>x</b>"))
    html = client.get(reverse("project_audit", args=[project.slug])).content.decode()
    assert "projectadmin changed name" in html and "overlap 1 → 3" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "{&#x27;" not in html and "{'" not in html  # no dict repr


# --- filters and CSV ---------------------------------------------------------------------


def audit_url(project, **query):
    return reverse("project_audit", args=[project.slug]) + ("?" + urlencode(query) if query else "")


def csv_url(project, **query):
    return reverse("project_audit_csv", args=[project.slug]) + ("?" + urlencode(query) if query else "")


def dated(entry, when):
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=when)


@pytest.fixture
def log(project, lead, admin_user):
    """Three entries: lead's on 1 March, admin's on 5 March, a lockout check by no one on 9 March."""
    entries = [
        audit_record(actor=lead, project=project, action="project.update", detail={"changes": {"overlap": [1, 2]}}),
        audit_record(actor=admin_user, project=project, action="member.add", detail={"username": "ann", "role": "labeler"}),
        audit_record(actor=None, project=project, action="model_version.verified", detail={"version": 1, "detected_by": "serving"}),
    ]
    for entry, day in zip(entries, (1, 5, 9)):
        dated(entry, datetime(2026, 3, day, 12, tzinfo=UTC))
    return entries


def test_the_audit_log_filters_by_actor_action_and_dates(client, project, admin_user, log):
    client.force_login(admin_user)
    assert "lead changed overlap 1 → 2" in client.get(audit_url(project, actor="lead")).content.decode()
    assert "projectadmin added ann" not in client.get(audit_url(project, actor="lead")).content.decode()
    by_no_one = client.get(audit_url(project, actor="-")).content.decode()
    assert "Arbiter verified version 1" in by_no_one and "lead changed" not in by_no_one
    by_action = client.get(audit_url(project, action="member.add")).content.decode()
    assert "projectadmin added ann as labeler" in by_action and "lead changed" not in by_action
    between = client.get(audit_url(project, since="2026-03-05", until="2026-03-05")).content.decode()
    assert "projectadmin added ann" in between and "lead changed" not in between and "Arbiter verified" not in between


@pytest.mark.parametrize(
    "query, field, message",
    [({"actor": "nobody"}, "actor", "Select a valid choice"), ({"action": "drop.tables"}, "action", "Select a valid choice"),
     ({"since": "March"}, "since", "Enter a valid date"),
     ({"since": "2026-03-09", "until": "2026-03-01"}, "until", "The end date is before the start date.")],
)  # fmt: skip
def test_a_bad_filter_is_a_400_naming_the_field_on_the_page_and_the_csv(client, project, admin_user, log, query, field, message):
    client.force_login(admin_user)
    page = client.get(audit_url(project, **query))
    assert page.status_code == 400 and message in page.content.decode()
    download = client.get(csv_url(project, **query))
    assert download.status_code == 400
    assert download.content.decode().startswith(f"{field}: ") and message in download.content.decode()


def test_the_audit_log_shows_50_entries_a_page_keeping_the_filter(client, project, lead, admin_user):
    for overlap in range(60):
        audit_record(actor=lead, project=project, action="project.update", detail={"changes": {"overlap": [overlap, overlap + 1]}})
    audit_record(actor=admin_user, project=project, action="member.add", detail={"username": "ann", "role": "labeler"})
    client.force_login(admin_user)
    first = client.get(audit_url(project, actor="lead")).content.decode()
    assert first.count("lead changed overlap") == 50 and "Page 1 of 2 (60 in all)" in first
    assert "actor=lead&amp;page=2" in first
    second = client.get(audit_url(project, actor="lead", page=2)).content.decode()
    assert second.count("lead changed overlap") == 10


def test_the_csv_download_has_the_filtered_entries_as_sentences(client, project, admin_user, log):
    client.force_login(admin_user)
    response = client.get(csv_url(project, action="member.add"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["when", "actor", "action", "sentence", "detail"]
    assert [row[1:4] for row in rows[1:]] == [["projectadmin", "member.add", "projectadmin added ann as labeler"]]
    assert json.loads(rows[1][4]) == {"username": "ann", "role": "labeler"}
    assert rows[1][0].startswith("2026-03-05T12:00:00")


def test_the_csv_download_neutralises_spreadsheet_formulas(client, project, admin_user):
    audit_record(actor=admin_user, project=project, action="project.update", detail={"changes": {"name": ["a", "=HYPERLINK(1)"]}})
    audit_record(actor=admin_user, project=project, action="=cmd|' /C calc'!A0", detail={})
    client.force_login(admin_user)
    rows = list(csv.reader(io.StringIO(b"".join(client.get(csv_url(project)).streaming_content).decode())))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells
    assert not any(cell.startswith(FORMULA_STARTS) for cell in cells)


def test_the_csv_download_is_for_admins_only(client, project, lead, labeler, outsider):
    url = csv_url(project)
    for user, status in ((lead, 403), (labeler, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status

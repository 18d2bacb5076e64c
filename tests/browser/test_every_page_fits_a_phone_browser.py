"""At 390 px every HTML page of the app, seen by the user who uses it, is no wider than the phone.

The pages are taken from the URL conf: a new page fails here until it is visited below (or
excluded with a reason), so "fits a phone" cannot silently stop covering the whole app.
"""

import json

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from annotator.imports import import_file
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Classification, Comparison, ImportJob, Judgment
from annotator.project_lifecycle import project_archive, project_delete
from annotator.projects import project_create
from annotator.queue import assignment_next_for
from tests import factories
from tests.browser.test_phone_width_browser import LONG_WORD, PHONE, _log_in
from tests.rewardtrain.comparisons import make_comparisons, train_small
from tests.rewardtrain.conftest import make_tiny_model

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Not pages: what a phone downloads or a script posts, and Django's own admin (not styled by app.css).
EXCLUDED = {
    "project_quality_csv": "a CSV download",
    "project_audit_csv": "a CSV download",
    "project_model_version_tar": "a .tar download",
    "project_model_version_file": "a file download",
    "instructions_preview": "POST only: the settings page's preview fragment",
    "member_change": "POST only: the members page's role form",
    "judgment_gold": "POST only: the judgment page's gold button",
    "judgment_review": "POST only: the accept and reject buttons of the review, judgments and judgment pages",
    "judgment_undo": "POST only: the button on My recent judgments",
    "token_revoke": "POST only: the tokens page's revoke button",
    "command_line_token_revoke": "POST only: the tokens page's revoke button",
    "login_lock_lift": "POST only: the locks page's lift button",
    "logout": "POST only: the top bar's log-out button",
    "project_train": "POST only: the models page's train button",
    "project_model_promote": "POST only: the models page's promote button",
    "project_model_rollback": "POST only: the models page's roll-back button",
    "project_archive": "POST only: the settings page's archive button",
    "project_restore": "POST only: the settings page's restore button",
    "project_delete": "POST only: the settings page's delete form",
}
NOT_PAGES = ("admin/", "api/")  # Django's admin; the JSON API and its schema and docs

P = "/projects/phone"
# Each page (URL name) as the user who uses it; {names} are the ids of the rows the `app` fixture makes.
PAGES = {
    "login": (None, "/accounts/login/"),
    "password_reset": (None, "/accounts/password/reset/"),
    "password_reset_done": (None, "/accounts/password/reset/sent/"),
    "password_reset_confirm": (None, "/accounts/password/reset/{uid}/{token}/"),
    "password_reset_complete": (None, "/accounts/password/reset/done/"),
    "project_list": ("labeler", "/"),
    "label": ("labeler", P + "/label/"),
    "my_judgments": ("labeler", P + "/mine/"),
    "token_list": ("labeler", "/accounts/tokens/"),
    "password_change": ("labeler", "/accounts/password/"),
    "password_change_done": ("labeler", "/accounts/password/done/"),
    "project_detail": ("lead", P + "/"),
    "project_import": ("lead", P + "/import/"),
    "import_job_detail": ("lead", P + "/import/{job}/"),
    "project_export": ("lead", P + "/export/"),
    "project_quality": ("lead", P + "/quality/"),
    "project_settings": ("lead", P + "/settings/"),
    "project_members": ("lead", P + "/members/"),
    "project_audit": ("admin", P + "/audit/"),
    "project_judgments": ("lead", P + "/judgments/"),
    "judgment_detail": ("lead", P + "/judgments/{judgment}/"),
    "project_review": ("lead", P + "/review/"),
    "project_prompts": ("lead", P + "/prompts/"),
    "imported_pair_detail": ("lead", P + "/imported-pairs/{pair}/"),
    "imported_label_detail": ("lead", "/projects/classify/imported-labels/{label}/"),
    "project_models": ("admin", P + "/models/"),
    "project_model_version": ("admin", P + "/models/{version}/"),
    "project_run": ("admin", P + "/runs/{run}/"),
    "project_rl_audit": ("admin", P + "/rl-audit/"),
    "project_new": ("staff", "/console/projects/new/"),
    "login_locks": ("staff", "/accounts/locks/"),
    "deleted_projects_audit": ("staff", "/console/deleted-projects/audit/"),
}
# The other modes draw these pages differently: visit them too.
MORE_PAGES = [
    ("labeler", "/projects/classify/label/"),
    ("lead", "/projects/classify/settings/"),
    ("lead", "/"),
    ("lead", "/projects/archived/settings/"),
]


def _page_names(resolver=None, prefix=""):
    """The name of every URL pattern outside admin/ and api/."""
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(NOT_PAGES):
            continue
        if isinstance(entry, URLResolver):
            names |= _page_names(entry, route)
        elif isinstance(entry, URLPattern):
            names.add(entry.name)
    return names


# Anything whose right edge passes the viewport, unless a box between it and the page clips or scrolls it.
OVERFLOWING = """(width) => {
  const clipped = (el) => {
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== 'visible') return box.getBoundingClientRect().right <= width + 0.5;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  return [...document.body.querySelectorAll('*')]
    .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !clipped(el))
    .map((el) => `${name(el)} ends at ${Math.round(el.getBoundingClientRect().right)} px`);
}"""


@pytest.fixture
def phone_as(browser, live_server):
    """phone_as(user) -> a 390 px page logged in as that user."""
    contexts = []

    def open_as(user):
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        if user is not None:
            _log_in(page, live_server, user.username)
        return page

    yield open_as
    for context in contexts:
        context.close()


@pytest.fixture
def app(settings, tmp_path):
    """A project with prompts, judgments, an import job, an imported pair and a trained tiny version; a classify project."""
    settings.ARBITER_MODEL_ROOTS = [*settings.ARBITER_MODEL_ROOTS, tmp_path / "models"]
    settings.ARBITER_GATE_MIN_PAIRS = 1
    settings.DATA_DIR = tmp_path
    name = "A project with a rather long name for a phone"
    project = factories.project(
        slug="phone", name=name, instructions=f"Read {LONG_WORD} first.\n\n" * 3
    )
    users = {
        "labeler": factories.member(
            project, "labeler", username="labeler-with-a-long-username"
        ),
        "lead": factories.member(project, "lead", username="lead-with-a-long-username"),
        "admin": factories.member(
            project, "admin", username="admin-with-a-long-username"
        ),
        "staff": factories.user("staff-with-a-long-username", is_staff=True),
        None: None,
    }
    project.base_model = str(make_tiny_model(tmp_path / "models" / "tiny-bert"))
    project.save()
    make_comparisons(project, 40)
    run = train_small(project, from_scratch=True)
    assert run.status == "succeeded", run.error
    factories.prompts(project, 3, text=f"Read {LONG_WORD} and answer")
    assignment = assignment_next_for(annotator=users["labeler"], project=project)
    judgment_record(
        assignment=assignment, result=JudgmentResult(choice="a"), client_id="phone-1"
    )
    pairs = [
        {
            "id": "imp-1",
            "prompt": f"Say {LONG_WORD}",
            "chosen": LONG_WORD,
            "rejected": "no",
        }
    ]
    import_file(project=project, data="\n".join(json.dumps(p) for p in pairs).encode())
    job = ImportJob.objects.create(
        project=project,
        filename=f"{LONG_WORD.replace('/', '-')}.jsonl"[:200],
        upload_path=str(tmp_path / "up"),
        size=10,
    )
    classify = project_create(slug="classify", name=name, mode="classify", labels=["fine", LONG_WORD[:60]], positive_label="fine", completions_shown=1)  # fmt: skip
    for role in ("labeler", "lead"):
        classify.memberships.create(user=users[role], role=role)
    labels = [
        {
            "id": "t1",
            "prompt": f"Reply {LONG_WORD}",
            "completion": LONG_WORD,
            "label": "fine",
        }
    ]
    import_file(
        project=classify, data="\n".join(json.dumps(r) for r in labels).encode()
    )
    factories.prompts(classify, 2, completions=1, text=f"Classify {LONG_WORD}")
    # An archived project the lead sees in the list's Archived part, and a deleted one's audit entries.
    archived = project_create(slug="archived", name=name)
    archived.memberships.create(user=users["lead"], role="lead")
    project_archive(project=archived, actor=users["lead"])
    gone = project_create(slug="deleted-with-a-long-slug-for-a-phone-screen", name=LONG_WORD[:200])
    project_delete(project=gone, actor=users["admin"], typed_slug=gone.slug)
    staff = users["staff"]
    ids = {
        "job": job.pk,
        "judgment": Judgment.objects.get(annotator=users["labeler"]).pk,
        "pair": Comparison.objects.get(judgment=None, prompt__external_id="imp-1").pk,
        "label": Classification.objects.get().pk,
        "version": run.version.version,
        "run": run.pk,
        "uid": urlsafe_base64_encode(force_bytes(staff.pk)),
        "token": default_token_generator.make_token(staff),
    }
    return users, ids


def test_every_page_is_visited_here_or_excluded_with_a_reason():
    assert _page_names() - set(PAGES) - set(EXCLUDED) == set(), (
        "a page that no test here visits at 390 px"
    )
    assert set(PAGES) & set(EXCLUDED) == set()


def test_every_page_fits_a_phone(phone_as, live_server, app):
    users, ids = app
    phones = {}
    too_wide = {}
    for who, path in [*PAGES.values(), *MORE_PAGES]:
        page = phones.get(who) or phones.setdefault(who, phone_as(users[who]))
        path = path.format(**ids)
        response = page.goto(live_server.url + path)
        assert response.status == 200, f"{path} as {who}: {response.status}"
        overflowing = page.evaluate(OVERFLOWING, PHONE["width"])
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"] or overflowing:
            too_wide[path] = f"{path} as {who}: {width} px wide; " + ", ".join(
                overflowing[:6]
            )
    assert not too_wide, "\n".join(too_wide.values())


def test_the_settings_page_s_save_button_is_clickable_on_a_phone(
    phone_as, live_server, app
):
    users, _ids = app
    page = phone_as(users["lead"])
    page.goto(f"{live_server.url}/projects/phone/settings/")
    page.fill("#id_overlap", "3")
    page.get_by_role("button", name="Save settings").click(
        timeout=3_000
    )  # fails if another element covers it
    expect(page.locator(".messages")).to_contain_text("Saved: overlap")

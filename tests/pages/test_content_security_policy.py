"""Every page and API answer carries a Content-Security-Policy that forbids inline script,
and no page relies on one (no inline <script>, no on* attribute, no javascript: URL)."""

from html.parser import HTMLParser

import pytest

from annotator.judgments import JudgmentResult, judgment_record
from annotator.queue import assignment_next_for
from rewardtrain.models import TrainingRun
from tests import factories

pytestmark = pytest.mark.django_db

# Script types a browser runs; anything else (e.g. application/json) is a data block.
EXECUTABLE_TYPES = {"", "text/javascript", "application/javascript", "module"}


def policy_of(response):
    header = response.headers["Content-Security-Policy"]
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


class InlineScriptFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "script" and not attrs.get("src") and (attrs.get("type") or "").lower() in EXECUTABLE_TYPES:
            self._in_inline_script = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}...</script>")


def inline_scripts_in(html):
    finder = InlineScriptFinder()
    finder.feed(html)
    return finder.found


def assert_strict_policy(response):
    policy = policy_of(response)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


@pytest.fixture
def site(project, labeler, lead):
    """A project with items, a running training run (its page polls) and a superuser."""
    factories.prompts(project, 2)
    run = TrainingRun.objects.create(project=project, status=TrainingRun.Status.RUNNING, requested_by=lead)
    superuser = factories.user("root", is_staff=True, is_superuser=True)
    assignment = assignment_next_for(annotator=labeler, project=project)
    judgment, _ = judgment_record(assignment=assignment, result=JudgmentResult(choice="a"), client_id="csp")
    return {
        "project": project,
        "run": run,
        "labeler": labeler,
        "lead": lead,
        "superuser": superuser,
        "judgment": judgment,
    }


def pages(site):
    """(who, url) for every kind of page there is."""
    slug = site["project"].slug
    return [
        (None, "/accounts/login/"),
        (None, "/admin/login/"),
        (site["labeler"], "/"),
        (site["labeler"], f"/projects/{slug}/label/"),
        (site["lead"], f"/projects/{slug}/"),
        (site["lead"], f"/projects/{slug}/import/"),
        (site["lead"], f"/projects/{slug}/models/"),
        (site["lead"], f"/projects/{slug}/runs/{site['run'].pk}/"),
        (site["lead"], "/api/docs/"),
        (site["lead"], f"/projects/{slug}/settings/"),
        (site["lead"], f"/projects/{slug}/members/"),
        (site["lead"], f"/projects/{slug}/judgments/"),
        (site["lead"], f"/projects/{slug}/judgments/{site['judgment'].pk}/"),
        (site["superuser"], f"/projects/{slug}/audit/"),
        (site["superuser"], "/console/projects/new/"),
        (site["superuser"], "/admin/"),
        (site["labeler"], "/no-such-page/"),
    ]


def test_every_page_has_a_strict_policy_and_no_inline_script(client, site):
    for who, url in pages(site):
        client.logout()
        if who is not None:
            client.force_login(who)
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert response["Content-Type"].startswith("text/html"), url
        assert_strict_policy(response)
        assert inline_scripts_in(response.content.decode()) == [], url


def test_models_page_with_an_active_run_loads_its_polling_script_from_a_file(client, site):
    client.force_login(site["lead"])
    html = client.get(f"/projects/{site['project'].slug}/models/").content.decode()
    assert "data-active" in html  # the run is live, so the page polls
    assert '<script src="/static/js/' in html


def test_swagger_docs_init_script_is_served_as_a_file(client, site):
    client.force_login(site["lead"])
    html = client.get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script="' in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content


def test_api_answers_carry_the_policy_too(client, site):
    client.force_login(site["labeler"])
    response = client.get("/api/v1/projects/")
    assert response.status_code == 200
    assert_strict_policy(response)


def test_the_finder_catches_each_kind_of_inline_script():
    assert inline_scripts_in('<script src="/static/js/a.js"></script><script type="application/json">{}</script>') == []
    assert len(inline_scripts_in("<script>alert(1)</script>")) == 1
    assert len(inline_scripts_in('<button onclick="go()">x</button>')) == 1
    assert len(inline_scripts_in('<a href="javascript:go()">x</a>')) == 1

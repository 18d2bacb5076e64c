"""A client generated from the served OpenAPI schema works against the real server, unchanged.

openapi-python-client (a test-only dependency) turns /api/schema/ into a Python package once per
session; each test calls one operation of the schema through it, against pytest-django's live
server, with real tokens: at least one success and a 401 for a bad token and for no
credentials, plus the errors that are cheap to provoke (another project's slug, a bad body, a
labeler on a lead endpoint, a session request without its CSRF token, a pinned version that is
not published, a batch over the limits, a project without a model). The client is made with
raise_on_unexpected_status=True, so an answer the schema does not declare fails the test, and
each answer must parse into its declared model (an Error for every error status).

Every operation in the schema is a test here, so a new operation with no call below fails; and
every status an operation declares must have been seen, or be listed in NOT_PROVOKED with why.
"""

import importlib
import io
import pkgutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from django.test import Client as DjangoClient
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from annotator.members import membership_add
from annotator.project_lifecycle import project_archive
from rewardtrain.checkpoint_store import version_folder
from rewardtrain.models import RewardModelVersion
from rewardtrain.versions import model_version_promote
from tests import factories
from tests.rewardtrain.comparisons import make_comparisons, train_small
from tests.rewardtrain.conftest import make_tiny_model

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = {
    operation["operationId"]: {status for status in operation["responses"]}
    for path in SCHEMA["paths"].values()
    for operation in path.values()
}
PACKAGE = "arbiter_generated_client"
BAD_TOKEN = "0" * 40

# Statuses an operation declares that these tests do not provoke, and where they are tested.
DATABASE_OUTAGE = "503: the database is down (tests/api/test_database_outage_postgres.py)"
THROTTLED = "429: too many bad tokens from one address (tests/api/test_bad_token_throttle.py)"
NOT_PROVOKED = {"503": DATABASE_OUTAGE, "429": THROTTLED}


# --- the generated package -------------------------------------------------------------------


@pytest.fixture(scope="session")
def _generated(tmp_path_factory):
    return {"folder": tmp_path_factory.mktemp("generated_client")}


def generate_client(folder: Path, schema_json: bytes):
    """Write the served schema, run openapi-python-client on it, import the package."""
    (folder / "schema.json").write_bytes(schema_json)
    # No post hooks: the default runs ruff, which is not a dependency (and only formats).
    (folder / "config.yml").write_text("post_hooks: []\n")
    command = [
        sys.executable, "-m", "openapi_python_client", "generate", "--path", str(folder / "schema.json"),
        "--output-path", str(folder / PACKAGE), "--meta", "none", "--config", str(folder / "config.yml"),
        "--fail-on-warning",
    ]  # fmt: skip
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(folder))
    package = importlib.import_module(PACKAGE)
    importlib.import_module(f"{PACKAGE}.models")
    return package


def endpoint(package, operation_id):
    """The generated module of one operation (modules are grouped by tag under api/)."""
    api = importlib.import_module(f"{package.__name__}.api")
    for info in pkgutil.walk_packages(api.__path__, f"{api.__name__}."):
        if info.name.rsplit(".", 1)[-1] == operation_id:
            return importlib.import_module(info.name)
    raise AssertionError(f"the generated client has no module for {operation_id}")


# --- the world each test calls into ----------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    make_tiny_model(root / "tiny-bert")
    return root


class World:
    """A pairwise project with its labeler, lead and admin (each with a token), another project
    none of them is in, and an empty project the labeler is in (nothing to judge, no model)."""

    def __init__(self, *, package, base_url, model, settings):
        self.package, self.base_url, self.settings = package, base_url, settings
        self.models = importlib.import_module(f"{package.__name__}.models")
        self.types = importlib.import_module(f"{package.__name__}.types")  # File, UNSET
        self.project = factories.project(slug="generated", base_model=model)
        factories.prompts(self.project, 3)
        self.labeler = factories.member(self.project, "labeler", username="gen-labeler")
        self.lead = factories.member(self.project, "lead", username="gen-lead")
        self.admin = factories.member(self.project, "admin", username="gen-admin")
        self.other = factories.project(slug="someone-elses")
        self.empty = factories.project(slug="empty", base_model=model)
        membership_add(project=self.empty, user=self.labeler, role="labeler")
        self.comparisons = 0  # prompts made for training so far
        self.seen = defaultdict(set)  # operation id: the statuses it answered
        self.clients = []  # closed at the end of the test

    # Clients: by token, by token in the URL, by session cookie, and none.
    def as_(self, user, prefix="Token"):
        token, _ = Token.objects.get_or_create(user=user)
        return self.client(token=token.key, prefix=prefix)

    def client(self, token=BAD_TOKEN, prefix="Token"):
        return self.kept(self.package.AuthenticatedClient, token=token, prefix=prefix)

    def anonymous(self):
        return self.kept(self.package.Client)

    def kept(self, client_class, **kwargs):
        client = client_class(base_url=self.base_url, raise_on_unexpected_status=True, **kwargs)
        self.clients.append(client)
        return client

    def with_url_token(self, user=None):
        """The token as ?token= (the scoring shapes RL loops call), and no Authorization header;
        without a user, a token that is not valid."""
        key = Token.objects.get_or_create(user=user)[0].key if user else BAD_TOKEN
        return self.kept(self.package.Client, httpx_args={"params": {"token": key}})

    def by_session(self, user):
        """A logged-in browser session without its CSRF token: unsafe methods answer 403."""
        browser = DjangoClient()
        browser.force_login(user)
        cookies = {"sessionid": browser.cookies["sessionid"].value}
        return self.kept(self.package.Client, cookies=cookies)

    def call(self, operation_id, expect, client, model=None, **kwargs):
        """Call the operation through the generated client; the answer must be `expect` and parse
        into `model` (Error for any error status; None for a 204)."""
        response = endpoint(self.package, operation_id).sync_detailed(client=client, **kwargs)
        assert response.status_code == expect, (operation_id, response.status_code, response.content[:300])
        self.seen[operation_id].add(str(expect))
        parsed = response.parsed
        if expect >= 400:
            assert isinstance(parsed, self.models.Error), parsed
            assert parsed.detail
        elif model is None:
            assert parsed is None
        else:
            assert isinstance(parsed, model), parsed
        return parsed

    def refuses_strangers(self, operation_id, **kwargs):
        """401 for a bad token and for no credentials at all."""
        self.call(operation_id, 401, self.client(), **kwargs)
        self.call(operation_id, 401, self.anonymous(), **kwargs)

    def train(self, times=1):
        make_comparisons(self.project, 40, start=self.comparisons)  # ~10 held out: v1 beats chance
        self.comparisons += 40
        for _ in range(times):
            run = train_small(self.project)
            assert run.status == "succeeded", run.error
        return run


@pytest.fixture
def world(_generated, live_server, transactional_db, settings, tiny_model_root):
    settings.ARBITER_MODEL_ROOTS = [*settings.ARBITER_MODEL_ROOTS, tiny_model_root]
    if "package" not in _generated:
        viewer = factories.user("schema-reader")
        token = Token.objects.create(user=viewer)
        served = httpx.get(
            f"{live_server.url}/api/schema/?format=json", headers={"Authorization": f"Token {token.key}"}, timeout=30
        )
        assert served.status_code == 200, served.text
        assert served.json() == SCHEMA  # the operations parametrized below are the served ones
        _generated["package"] = generate_client(_generated["folder"], served.content)
    model = str(tiny_model_root / "tiny-bert")
    world = World(package=_generated["package"], base_url=live_server.url, model=model, settings=settings)
    yield world
    for client in world.clients:
        client.get_httpx_client().close()


# --- one scenario per operation --------------------------------------------------------------

SCENARIOS = {}


def scenario(operation_id):
    def register(function):
        SCENARIOS[operation_id] = function
        return function

    return register


@scenario("projects_list")
def _projects_list(w):
    projects = w.call("projects_list", 200, w.as_(w.labeler), list)
    assert {(p.slug, p.role.value) for p in projects} == {("generated", "labeler"), ("empty", "labeler")}
    assert all(isinstance(p, w.models.Project) for p in projects)
    w.refuses_strangers("projects_list")


@scenario("projects_next")
def _projects_next(w):
    item = w.call("projects_next", 200, w.as_(w.labeler), w.models.Item, slug="generated")
    assert len(item.completions) == 2 and item.prompt.text
    w.call("projects_next", 204, w.as_(w.labeler), slug="empty")
    w.call("projects_next", 404, w.as_(w.labeler), slug="someone-elses")
    w.refuses_strangers("projects_next", slug="generated")
    project_archive(project=w.empty, actor=None)
    w.call("projects_next", 403, w.as_(w.labeler), slug="empty")  # hidden from its labeler
    membership_add(project=w.empty, user=w.lead, role="lead")
    w.call("projects_next", 409, w.as_(w.lead), slug="empty")  # read-only to its lead


@scenario("assignments_skip")
def _assignments_skip(w):
    item = w.call("projects_next", 200, w.as_(w.labeler), w.models.Item, slug="generated")
    w.call("assignments_skip", 403, w.by_session(w.labeler), assignment_id=item.assignment)
    w.call("assignments_skip", 404, w.as_(w.lead), assignment_id=item.assignment)  # not theirs
    w.call("assignments_skip", 204, w.as_(w.labeler), assignment_id=item.assignment)
    w.refuses_strangers("assignments_skip", assignment_id=item.assignment)
    held = w.call("projects_next", 200, w.as_(w.labeler), w.models.Item, slug="generated")
    project_archive(project=w.project, actor=None)
    w.call("assignments_skip", 409, w.as_(w.labeler), assignment_id=held.assignment)


@scenario("judgments_create")
def _judgments_create(w):
    m = w.models
    item = w.call("projects_next", 200, w.as_(w.labeler), m.Item, slug="generated")

    def judgment(client_id, choice="a", **fields):
        choice = m.ChoiceEnum(choice)
        return m.JudgmentInputRequest(assignment=item.assignment, client_id=client_id, choice=choice, **fields)

    create = "judgments_create"
    w.call(create, 400, w.as_(w.labeler), body=judgment("c-1", time_spent_ms=-1))
    w.call(create, 404, w.as_(w.lead), body=judgment("c-1"))  # another labeler's assignment
    w.call(create, 403, w.by_session(w.labeler), body=judgment("c-1"))
    stored = w.call(create, 201, w.as_(w.labeler), m.Judgment, body=judgment("c-1"))
    assert stored.choice.value == "a" and len(stored.comparisons) == 1
    again = w.call(create, 200, w.as_(w.labeler), m.Judgment, body=judgment("c-1"))
    assert again.id == stored.id
    w.call(create, 422, w.as_(w.labeler), body=judgment("c-1", choice="b"))
    w.call(create, 409, w.as_(w.labeler), body=judgment("c-2"))  # the item is closed
    w.refuses_strangers(create, body=judgment("c-3"))


@scenario("projects_quality")
def _projects_quality(w):
    m = w.models
    item = w.call("projects_next", 200, w.as_(w.labeler), m.Item, slug="generated")
    choice = m.ChoiceEnum("a")
    judgment = m.JudgmentInputRequest(assignment=item.assignment, client_id="q-1", choice=choice, time_spent_ms=900)
    w.call("judgments_create", 201, w.as_(w.labeler), m.Judgment, body=judgment)
    report = w.call("projects_quality", 200, w.as_(w.lead), m.QualityReport, slug="generated")
    (row,) = report.labelers  # null figures (no gold, no repeats) parse as None
    assert row.username == "gen-labeler" and row.gold_accuracy is None and row.fast == 1
    assert report.agreement.with_majority is None and report.throughput.per_day[0].judgments == 1
    w.call("projects_quality", 403, w.as_(w.labeler), slug="generated")
    w.call("projects_quality", 404, w.as_(w.lead), slug="someone-elses")
    w.refuses_strangers("projects_quality", slug="generated")


@scenario("projects_judgments")
def _projects_judgments(w):
    m = w.models
    item = w.call("projects_next", 200, w.as_(w.labeler), m.Item, slug="generated")
    body = m.JudgmentInputRequest(assignment=item.assignment, client_id="l-1", choice=m.ChoiceEnum("a"))
    stored = w.call("judgments_create", 201, w.as_(w.labeler), m.Judgment, body=body)
    listing = "projects_judgments"
    page = w.call(listing, 200, w.as_(w.lead), m.JudgmentPage, slug="generated", review=m.ProjectsJudgmentsReview("none"))
    assert [j.id for j in page.results] == [stored.id] and page.results[0].labeler == "gen-labeler"
    assert page.next_after is None
    w.call(listing, 400, w.as_(w.lead), slug="generated", after="the-first")  # not an id: the client sends what it is given
    w.call(listing, 403, w.as_(w.labeler), slug="generated")
    w.call(listing, 404, w.as_(w.lead), slug="someone-elses")
    w.refuses_strangers(listing, slug="generated")


@scenario("judgments_review")
def _judgments_review(w):
    m = w.models
    item = w.call("projects_next", 200, w.as_(w.labeler), m.Item, slug="generated")
    body = m.JudgmentInputRequest(assignment=item.assignment, client_id="r-1", choice=m.ChoiceEnum("a"))
    stored = w.call("judgments_create", 201, w.as_(w.labeler), m.Judgment, body=body)
    review, reject = "judgments_review", m.JudgmentReviewEnum("rejected")
    w.call(review, 400, w.as_(w.lead), judgment_id=stored.id, body=m.ReviewInputRequest(review=reject))  # no reason
    done = w.call(
        review, 200, w.as_(w.lead), m.ReviewedJudgment, judgment_id=stored.id,
        body=m.ReviewInputRequest(review=reject, reason="Wrong one."),
    )
    assert done.review == reject and done.review_reason == "Wrong one." and done.reviewed_by == "gen-lead"
    accept = m.ReviewInputRequest(review=m.JudgmentReviewEnum("accepted"))
    w.call(review, 403, w.as_(w.labeler), judgment_id=stored.id, body=accept)
    w.call(review, 403, w.by_session(w.lead), judgment_id=stored.id, body=accept)
    own_item = w.call("projects_next", 200, w.as_(w.lead), m.Item, slug="generated")
    own_body = m.JudgmentInputRequest(assignment=own_item.assignment, client_id="r-2", choice=m.ChoiceEnum("b"))
    own = w.call("judgments_create", 201, w.as_(w.lead), m.Judgment, body=own_body)
    w.call(review, 422, w.as_(w.lead), judgment_id=own.id, body=accept)
    w.call(review, 404, w.as_(w.lead), judgment_id=stored.id + 1000, body=accept)
    w.refuses_strangers(review, judgment_id=stored.id, body=accept)


@scenario("projects_prompts")
def _projects_prompts(w):
    m, listing = w.models, "projects_prompts"
    page = w.call(listing, 200, w.as_(w.lead), m.PromptPage, slug="generated", filter_=m.ProjectsPromptsFilter("unfinished"))
    assert page.count == 3 and page.pages == 1 and all(isinstance(p, m.BrowsedPrompt) for p in page.results)
    assert page.results[0].agreement is None and page.results[0].reserved_for is None
    w.call(listing, 400, w.as_(w.lead), slug="generated", page=0)
    w.call(listing, 404, w.as_(w.lead), slug="generated", page=2)  # there is one page
    w.call(listing, 403, w.as_(w.labeler), slug="generated")
    w.call(listing, 404, w.as_(w.lead), slug="someone-elses")
    w.refuses_strangers(listing, slug="generated")


@scenario("projects_prompts_actions")
def _projects_prompts_actions(w):
    m, act = w.models, "projects_prompts_actions"
    ids = [p.pk for p in w.project.prompts.order_by("pk")[:2]]
    take_out = m.PromptActionInputRequest(action=m.ActionEnum("take_out"), prompt_ids=ids)
    done = w.call(act, 200, w.as_(w.lead), m.PromptActionResult, slug="generated", body=take_out)
    assert done.detail == "2 prompts taken out of the queue"
    reassign = m.PromptActionInputRequest(action=m.ActionEnum("reassign"), prompt_ids=ids)
    w.call(act, 400, w.as_(w.lead), slug="generated", body=reassign)  # to whom?
    reassign.labeler = "nobody"
    w.call(act, 404, w.as_(w.lead), slug="generated", body=reassign)
    reassign.labeler = "gen-labeler"
    w.call(act, 422, w.as_(w.lead), slug="generated", body=reassign)  # taken out: put them back first
    w.call(act, 403, w.as_(w.labeler), slug="generated", body=take_out)
    w.call(act, 403, w.by_session(w.lead), slug="generated", body=take_out)
    w.call(act, 404, w.as_(w.lead), slug="someone-elses", body=take_out)
    archived = factories.project(slug="archived")
    membership_add(project=archived, user=w.lead, role="lead")
    project_archive(project=archived, actor=w.lead)
    w.call(act, 409, w.as_(w.lead), slug="archived", body=take_out)
    w.refuses_strangers(act, slug="generated", body=take_out)


@scenario("projects_export")
def _projects_export(w):
    m = w.models
    make_comparisons(w.project, 3)
    w.comparisons += 3
    export, lead = "projects_export", w.as_(w.lead)
    files = {
        name: w.call(export, 200, lead, w.types.File, slug="generated", format_=m.ProjectsExportFormat(name))
        for name in ("jsonl", "csv", "parquet")
    }
    jsonl = files["jsonl"].payload.read().decode()
    assert len(jsonl.splitlines()) == 3 and jsonl.startswith('{"prompt"')
    assert files["csv"].payload.read().decode().splitlines()[0].startswith("prompt,chosen,rejected")
    table = pq.read_table(io.BytesIO(files["parquet"].payload.read()))
    assert table.num_rows == 3 and table.column_names[:3] == ["prompt", "chosen", "rejected"]
    w.call(export, 400, lead, slug="generated", min_agreement=2.0)
    w.call(export, 409, lead, slug="generated", labelers="nobody")  # no rows: nothing to export
    w.call(export, 403, w.as_(w.labeler), slug="generated")
    w.call(export, 404, lead, slug="someone-elses")
    w.refuses_strangers(export, slug="generated")


@scenario("projects_train")
def _projects_train(w):
    m, train = w.models, "projects_train"
    w.call(train, 400, w.as_(w.lead), slug="generated", body=m.TrainInputRequest(epochs=0))
    run = w.call(train, 201, w.as_(w.lead), m.TrainingRun, slug="generated", body=m.TrainInputRequest(epochs=1))
    assert run.status.value == "queued" and run.requested_by == "gen-lead"
    same = w.call(train, 200, w.as_(w.lead), m.TrainingRun, slug="generated", body=m.TrainInputRequest())
    assert same.id == run.id
    w.call(train, 403, w.as_(w.labeler), slug="generated", body=m.TrainInputRequest())
    w.call(train, 403, w.by_session(w.lead), slug="generated", body=m.TrainInputRequest())
    w.call(train, 404, w.as_(w.lead), slug="someone-elses", body=m.TrainInputRequest())
    w.refuses_strangers(train, slug="generated", body=m.TrainInputRequest())
    project_archive(project=w.empty, actor=None)
    membership_add(project=w.empty, user=w.lead, role="lead")
    w.call(train, 409, w.as_(w.lead), slug="empty", body=m.TrainInputRequest())


@scenario("projects_runs_list")
def _projects_runs_list(w):
    run = w.train()
    runs = w.call("projects_runs_list", 200, w.as_(w.lead), list, slug="generated")
    assert [r.id for r in runs] == [run.id] and isinstance(runs[0], w.models.TrainingRun)
    assert runs[0].version == 1 and runs[0].metrics
    w.call("projects_runs_list", 403, w.as_(w.labeler), slug="generated")
    w.call("projects_runs_list", 404, w.as_(w.lead), slug="someone-elses")
    w.refuses_strangers("projects_runs_list", slug="generated")


@scenario("projects_runs_retrieve")
def _projects_runs_retrieve(w):
    run = w.train()
    retrieve = "projects_runs_retrieve"
    detail = w.call(retrieve, 200, w.as_(w.admin), w.models.TrainingRunDetail, slug="generated", run_id=run.id)
    assert detail.id == run.id and detail.status.value == "succeeded" and detail.error == ""
    w.call(retrieve, 404, w.as_(w.lead), slug="generated", run_id=run.id + 100)
    w.call(retrieve, 403, w.as_(w.labeler), slug="generated", run_id=run.id)
    w.refuses_strangers(retrieve, slug="generated", run_id=run.id)


@scenario("projects_models_list")
def _projects_models_list(w):
    w.train()
    versions = w.call("projects_models_list", 200, w.as_(w.lead), list, slug="generated")
    assert [(v.version, v.is_current) for v in versions] == [(1, True)]
    assert isinstance(versions[0], w.models.RewardModelVersion)
    w.call("projects_models_list", 403, w.as_(w.labeler), slug="generated")
    w.call("projects_models_list", 404, w.as_(w.lead), slug="someone-elses")
    w.refuses_strangers("projects_models_list", slug="generated")


@scenario("projects_models_promote")
def _projects_models_promote(w):
    w.train(times=2)
    promote, admin = "projects_models_promote", w.as_(w.admin)
    promoted = w.call(promote, 200, admin, w.models.RewardModelVersion, slug="generated", version=2)
    assert promoted.version == 2 and promoted.is_current
    w.call(promote, 403, w.as_(w.lead), slug="generated", version=1)  # admins only
    w.call(promote, 403, w.by_session(w.admin), slug="generated", version=1)
    w.call(promote, 404, admin, slug="generated", version=9)
    tampered = RewardModelVersion.objects.get(project=w.project, version=1)
    (version_folder(tampered) / "stray.txt").write_text("not in the manifest")
    w.call(promote, 409, admin, slug="generated", version=1)
    w.refuses_strangers(promote, slug="generated", version=2)


@scenario("projects_models_rollback")
def _projects_models_rollback(w):
    rollback, admin = "projects_models_rollback", w.as_(w.admin)
    w.train()
    w.call(rollback, 409, admin, slug="generated")  # nothing before v1
    w.train()
    model_version_promote(version=RewardModelVersion.objects.get(project=w.project, version=2))
    restored = w.call(rollback, 200, admin, w.models.RewardModelVersion, slug="generated")
    assert restored.version == 1 and restored.is_current
    w.call(rollback, 403, w.as_(w.lead), slug="generated")
    w.call(rollback, 403, w.by_session(w.admin), slug="generated")
    w.call(rollback, 404, admin, slug="someone-elses")
    w.refuses_strangers(rollback, slug="generated")


def _scoring_errors(w, operation_id, body_for, *, max_items):
    """What every scoring operation refuses: a bad body, an outsider's slug, a session without
    CSRF, an unpublished pin, too many items, a project without a model, strangers."""
    labeler = w.as_(w.labeler)
    w.call(operation_id, 400, labeler, slug="generated", body=body_for(n=0))
    w.call(operation_id, 404, labeler, slug="someone-elses", body=body_for())
    w.call(operation_id, 403, w.by_session(w.labeler), slug="generated", body=body_for())
    w.call(operation_id, 409, labeler, slug="generated", body=body_for(version=7))
    w.call(operation_id, 413, labeler, slug="generated", body=body_for(n=max_items + 1))
    w.call(operation_id, 503, labeler, slug="empty", body=body_for())
    w.refuses_strangers(operation_id, slug="generated", body=body_for())
    if operation_id in URL_TOKEN_OPERATIONS:
        w.call(operation_id, 401, w.with_url_token(), slug="generated", body=body_for())


URL_TOKEN_OPERATIONS = {
    operation["operationId"]
    for path in SCHEMA["paths"].values()
    for operation in path.values()
    if {"queryToken": []} in operation["security"]
}


PROMPT = "human: tell me about the cat. assistant:"
GOOD, BAD = "the cat is good and kind", "the cat is bad and rude"


@scenario("projects_score")
def _projects_score(w):
    m = w.models
    w.train()

    def body(n=2, **options):
        items = [m.ScoreItemRequest(prompt=PROMPT, completion=(GOOD, BAD)[i % 2]) for i in range(n)]
        return m.ScoreInputRequest(items=items, **options)

    scores = w.call("projects_score", 200, w.as_(w.labeler), m.Scores, slug="generated", body=body(normalize=True))
    assert scores.version == 1 and len(scores.rewards) == 2 and all(isinstance(r, float) for r in scores.rewards)
    _scoring_errors(w, "projects_score", body, max_items=w.settings.ARBITER_SCORE_MAX_ITEMS)


@scenario("projects_rank")
def _projects_rank(w):
    m = w.models
    w.train()

    def body(n=2, **options):
        return m.RankInputRequest(prompt=PROMPT, completions=[(BAD, GOOD)[i % 2] for i in range(n)], **options)

    ranking = w.call("projects_rank", 200, w.as_(w.labeler), m.Ranking, slug="generated", body=body())
    assert sorted(c.index for c in ranking.completions) == [0, 1] and 0 < ranking.p_first_better < 1
    _scoring_errors(w, "projects_rank", body, max_items=w.settings.ARBITER_SCORE_MAX_ITEMS)


@scenario("projects_get_reward")
def _projects_get_reward(w):
    m, get_reward = w.models, "projects_get_reward"
    w.train()
    w.settings.ARBITER_REWARD_MAX_ITEMS = 4  # read per request: a small limit makes a small 413

    def body(n=2, **options):
        queries = [PROMPT + (GOOD, BAD)[i % 2] for i in range(n)]
        return m.GetRewardInputRequest(query=queries, prompts=[PROMPT] * n, **options)

    by_header = w.call(get_reward, 200, w.as_(w.labeler), m.GetRewardOutput, slug="generated", body=body())
    by_url = w.call(get_reward, 200, w.with_url_token(w.labeler), m.GetRewardOutput, slug="generated", body=body())
    assert by_url.rewards == by_header.rewards == by_header.scores and by_header.extra_logs.version == 1
    # A query that cannot be split is a null reward and a failure, and ?extra_logs=0 leaves those out.
    unsplit = m.GetRewardInputRequest(query=["ab", PROMPT + GOOD], prompts=["x", PROMPT])
    answer = w.call(get_reward, 200, w.as_(w.labeler), m.GetRewardOutput, slug="generated", body=unsplit,
                    extra_logs=m.ProjectsGetRewardExtraLogs("0"))  # fmt: skip
    assert answer.rewards[0] is None and isinstance(answer.rewards[1], float) and answer.extra_logs is w.types.UNSET
    assert [f.index for f in answer.failures] == [0]
    _scoring_errors(w, get_reward, body, max_items=4)


@scenario("projects_rerank")
def _projects_rerank(w):
    m, rerank = w.models, "projects_rerank"
    w.train()

    def body(n=2, **options):
        return m.RerankInputRequest(query=PROMPT, documents=[(BAD, GOOD)[i % 2] for i in range(n)], **options)

    reranked = w.call(rerank, 200, w.as_(w.labeler), m.RerankOutput, slug="generated", body=body(top_n=1))
    assert reranked.model == "generated-v1" and len(reranked.results) == 1 and reranked.usage.total_tokens > 0
    assert isinstance(reranked.results[0].relevance_score, float) and reranked.results[0].document.text in (GOOD, BAD)
    by_url = w.call(rerank, 200, w.with_url_token(w.labeler), m.RerankOutput, slug="generated", body=body())
    assert len(by_url.results) == 2
    # TEI's shape: texts in, a bare array of ranks out.
    tei = m.TeiRerankInputRequest(query=PROMPT, texts=[BAD, GOOD], raw_scores=True, return_text=True)
    ranks = w.call(rerank, 200, w.as_(w.labeler), list, slug="generated", body=tei)
    assert all(isinstance(rank, m.TeiRank) for rank in ranks) and {rank.text for rank in ranks} == {BAD, GOOD}
    _scoring_errors(w, rerank, body, max_items=w.settings.ARBITER_SCORE_MAX_ITEMS)


def _cohere_rerank(w, operation_id, api_version):
    m = w.models
    w.train()

    def body(n=2, **options):
        return m.RerankInputRequest(query=PROMPT, documents=[(BAD, GOOD)[i % 2] for i in range(n)], **options)

    bearer = w.as_(w.labeler, prefix="Bearer")  # what the Cohere SDK sends
    answer = w.call(operation_id, 200, bearer, m.CohereRerankOutput, slug="generated", body=body(return_documents=True))
    assert answer.meta.api_version.version.value == api_version and len(answer.results) == 2
    assert {r.document.text for r in answer.results} == {BAD, GOOD}
    by_url = w.call(operation_id, 200, w.with_url_token(w.labeler), m.CohereRerankOutput, slug="generated", body=body())
    assert [r.index for r in by_url.results] == [r.index for r in answer.results]
    assert by_url.results[0].document is w.types.UNSET  # Cohere's default: no documents back
    w.call(operation_id, 401, w.client(prefix="Bearer"), slug="generated", body=body())
    _scoring_errors(w, operation_id, body, max_items=w.settings.ARBITER_SCORE_MAX_ITEMS)


@scenario("projects_cohere_v1_rerank")
def _projects_cohere_v1_rerank(w):
    _cohere_rerank(w, "projects_cohere_v1_rerank", "1")


@scenario("projects_cohere_v2_rerank")
def _projects_cohere_v2_rerank(w):
    _cohere_rerank(w, "projects_cohere_v2_rerank", "2")


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_generated_client_parses_every_answer_of(operation_id, world):
    run = SCENARIOS.get(operation_id)
    assert run is not None, f"{operation_id} is in the schema but no generated-client call here covers it"
    run(world)
    seen = world.seen[operation_id]
    assert "401" in seen and any(status.startswith("2") for status in seen), sorted(seen)
    unprovoked = OPERATIONS[operation_id] - seen
    assert unprovoked <= set(NOT_PROVOKED), f"{operation_id} declares {sorted(unprovoked)} and no call here saw it"


def test_every_scenario_is_an_operation_of_the_schema():
    assert set(SCENARIOS) <= set(OPERATIONS), sorted(set(SCENARIOS) - set(OPERATIONS))

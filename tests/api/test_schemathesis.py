"""The OpenAPI schema tells the truth: schemathesis generates requests from the schema that
/api/schema/ serves and checks every answer against it (no server error; documented status
codes, content types and bodies; invalid input refused, valid input accepted), through the
WSGI app on the test database, as an admin of a small seeded project.

Bounded: a fixed seed and a few examples per operation, so every run makes the same requests.
The schema is generated at import (schemathesis' lazy fixture loader does not run on this
pytest), and the first test checks that /api/schema/ serves exactly it.
"""

import pytest
import schemathesis
from schemathesis.checks import positive_data_acceptance
from hypothesis import HealthCheck, settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from annotator.models import Project
from annotator.wsgi import application
from tests import factories
from tests.rewardtrain.comparisons import make_comparisons, train_small
from tests.rewardtrain.conftest import make_tiny_model

SLUG = "schema-check"
TOKEN = "schemathesis0000000000000000000000000000"  # 40 characters, like DRF's own keys
EXAMPLES_PER_OPERATION = 15

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
schema = schemathesis.openapi.from_dict(
    SCHEMA,
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261123,
            "headers": {"Authorization": f"Token {TOKEN}"},
            # Operations on the seeded project, not only on random slugs that answer 404.
            "parameters": {"slug": SLUG},
            "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"},
            # Schemathesis' list of answers that refuse invalid input, plus the 413 that score and
            # rank document for a batch over ARBITER_SCORE_MAX_ITEMS (the schema's maxItems).
            "checks": {
                "negative_data_rejection": {
                    "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
                }
            },
        }
    ),
)
schema.app = application


@pytest.fixture
def seeded(db):
    """A pairwise project with a few prompts, and its admin, who holds TOKEN."""
    project = factories.project(slug=SLUG)
    factories.prompts(project, 3)
    Token.objects.create(user=factories.member(project, "admin"), key=TOKEN)


@pytest.fixture
def wsgi_keeps_the_test_transaction():
    """The real WSGI app closes the connection after each request (the test's open transaction
    with it); Django's own test client switches that off around each request, so do we."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_the_schema_checked_here_is_the_one_api_schema_serves(client, seeded):
    response = client.get("/api/schema/?format=json", headers={"Authorization": f"Token {TOKEN}"})
    assert response.status_code == 200
    assert response.json() == SCHEMA


SCORING = r"/(score|rank|get_reward|rerank)/$"


@pytest.fixture(scope="module")
def tiny_model_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    make_tiny_model(root / "tiny-bert")
    return root


@pytest.fixture
def seeded_with_a_model(seeded, settings, tiny_model_root):
    """The seeded project with a current reward model, so score and rank answer 200."""
    settings.ARBITER_MODEL_ROOTS = [*settings.ARBITER_MODEL_ROOTS, tiny_model_root]
    project = Project.objects.get(slug=SLUG)
    project.base_model = str(tiny_model_root / "tiny-bert")
    project.save()
    make_comparisons(project, 40)  # 11 held-out pairs: enough for v1 to beat chance and go live
    assert train_small(project).version.is_current


# One seeded project for all of an operation's examples, on purpose: state builds up (leases,
# judgments, runs) as it would for a real client.
@schema.exclude(path_regex=SCORING).parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_answers_what_the_schema_says(case, seeded, wsgi_keeps_the_test_transaction):
    if case.path.endswith("/train/") and case.method == "POST":
        # Rules between training options OpenAPI cannot state (a LoRA option without lora_r, a
        # micro-batch larger than the batch): a request the schema allows may break one and gets
        # a 400 that names it. Every other check still runs.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])
    else:
        case.call_and_validate()


@schema.include(path_regex=SCORING).parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_scoring_answers_what_the_schema_says(case, seeded_with_a_model, wsgi_keeps_the_test_transaction):
    if case.path.endswith("/get_reward/"):
        # One rule OpenAPI cannot state: each query starts with its prompt, one prompt per
        # query. A request the schema allows may break it and gets a 400 that names it.
        case.call_and_validate(excluded_checks=[positive_data_acceptance])
    else:
        case.call_and_validate()

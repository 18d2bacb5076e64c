"""A JSON body nested deeper than ARBITER_JSON_MAX_DEPTH is a 400 naming the limit, on every POST
endpoint of the API, never a 500 (Python's recursion limit is about 1,000 frames, and a request
already uses a hundred of them before its body is parsed)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

DEEP = "[" * 1000 + "]" * 1000  # 2 KB


def api_post_views(patterns=None, prefix=""):
    """(route, view class) for every view under /api/ that answers POST."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from api_post_views(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None and hasattr(view_class, "post"):
                yield route, view_class


def filled(route, project):
    return "/" + (
        route.replace("<slug:slug>", project.slug)
        .replace("<int:assignment_id>", "1")
        .replace("<int:judgment_id>", "1")
        .replace("<int:run_id>", "1")
        .replace("<int:version>", "1")
    )


# Operations declared with no request body (request=None): they never read one.
BODYLESS = {"AssignmentSkipApi", "ModelPromoteApi", "ModelRollbackApi"}


def test_every_post_endpoint_answers_a_deeply_nested_body_with_400(api_as, project, admin_user):
    client = api_as(admin_user)
    client.raise_request_exception = False
    checked = []
    for route, view_class in api_post_views():
        path = filled(route, project)
        response = client.post(path, DEEP, content_type="application/json")
        if view_class.__name__ in BODYLESS:
            assert response.status_code != 500, path  # takes no body: never reads it
            continue
        assert response.status_code == 400, (path, response.status_code, response.content[:200])
        assert "ARBITER_JSON_MAX_DEPTH" in response.json()["detail"], path
        checked.append(path)
    # judgments, train, score, rank, get_reward (both URLs), and the five rerank URLs
    assert len(checked) >= 11, checked


def test_nesting_up_to_the_limit_is_parsed(api_as, project, labeler, settings):
    settings.ARBITER_JSON_MAX_DEPTH = 64
    body = '{"assignment": 1, "client_id": "c", "labels": ' + "[" * 63 + "]" * 63 + "}"
    response = api_as(labeler).post("/api/v1/judgments/", body, content_type="application/json")
    assert response.status_code == 400
    assert "labels" in response.json()["errors"]  # reached the serializer: 64 levels are fine


def test_one_level_over_the_limit_is_refused(api_as, labeler, settings):
    settings.ARBITER_JSON_MAX_DEPTH = 64
    body = "[" * 65 + "]" * 65
    response = api_as(labeler).post("/api/v1/judgments/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON nested deeper than ARBITER_JSON_MAX_DEPTH (64 levels)."}


@pytest.mark.parametrize(
    "text, deep",
    [
        ('["[[[[[[[[[["]', False),  # brackets inside a string do not nest
        ('["\\"[[[[[[["]', False),  # nor after an escaped quote
        ('{"a": [{"b": [1]}]}', False),
        ("[[[[[[]]]]]]", True),
    ],
)
def test_depth_is_counted_outside_strings(text, deep):
    from annotator.parsers import json_depth_exceeds

    assert json_depth_exceeds(text, 5) is deep

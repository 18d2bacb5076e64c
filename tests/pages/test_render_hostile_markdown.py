"""Markdown that made the old renderer quadratic (8,000 `[` took 14.6 s) goes through every page
that shows text at 16,000 and 100,000 characters (ARBITER_MAX_TEXT_CHARS), comes back 200,
sanitised and whole. Render times are measured in bench/render_bench.py, never asserted here."""

import json

import pytest
from django.urls import reverse

from annotator import rate_limit, rendering
from annotator.imports import import_file
from annotator.judgments import JudgmentResult, judgment_record
from annotator.models import Comparison, Completion, Prompt
from annotator.queue import assignment_next_for
from rewardtrain.models import ScoredSample
from tests import factories
from tests.pages.inert import assert_inert

# The rows of issue 19's table: how one unit repeats to fill the text.
PATTERNS = {
    "brackets": "[",
    "image-openers": "![",
    "a-bracket-b": "a[b",
    "nested-brackets": None,  # "[" * k + "]" * k
    "unclosed-links": "[x](",
    "plain-words": "lorem ipsum ",
}
LENGTHS = [16_000, 100_000]
XSS = "<script>alert(1)</script> [x](javascript:alert(1)) "


def hostile(pattern, length, who):
    """`length` characters: a start marker, an XSS attempt, the pattern, an end marker."""
    head, tail = f"START-{who} {XSS}", f" END-{who}"
    fill = length - len(head) - len(tail)
    unit = PATTERNS[pattern]
    body = "[" * (fill // 2) + "]" * (fill - fill // 2) if unit is None else (unit * (fill // len(unit) + 1))[:fill]
    return head + body + tail


def assert_sanitised(html, *, whole=(), started=()):
    """Inert (the pages' own <style> aside), the XSS attempt shown as text; the texts named in
    `whole` are on the page from start to end marker, those in `started` (truncated by the
    page) at least begin."""
    assert_inert(html, page_tags=["style"])
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for who in whole:
        assert f"START-{who}" in html and f"END-{who}" in html
    for who in started:
        assert f"START-{who}" in html


hostile_cases = pytest.mark.parametrize(
    "pattern, length", [(p, n) for p in PATTERNS for n in LENGTHS], ids=[f"{p}-{n}" for p in PATTERNS for n in LENGTHS]
)


def hostile_item(project, pattern, length):
    prompt = Prompt.objects.create(project=project, external_id="hostile", text=hostile(pattern, length, "prompt"))
    Completion.objects.create(prompt=prompt, text=hostile(pattern, length, "A"))
    Completion.objects.create(prompt=prompt, text=hostile(pattern, length, "B"))
    return prompt


def hostile_judgment(project, pattern, length):
    """A labeler's judgment of a hostile item with a hostile edit and comment."""
    hostile_item(project, pattern, length)
    labeler = factories.member(project, "labeler", username="editor")
    assignment = assignment_next_for(annotator=labeler, project=project)
    result = JudgmentResult(
        choice="b",
        edit_of=assignment.shown[0],
        edit_text=hostile(pattern, length, "E"),
        comment=hostile(pattern, length, "comment"),
    )
    judgment, _ = judgment_record(assignment=assignment, result=result, client_id="hostile")
    return judgment


@hostile_cases
def test_the_labeling_page_shows_hostile_markdown_sanitised(client, project, labeler, pattern, length):
    hostile_item(project, pattern, length)
    client.force_login(labeler)
    response = client.get(reverse("label", args=[project.slug]))
    assert response.status_code == 200
    assert_sanitised(response.content.decode(), whole=["prompt", "A", "B"])


@hostile_cases
def test_the_judgments_browser_lists_hostile_texts_sanitised(client, project, lead, pattern, length):
    hostile_judgment(project, pattern, length)
    client.force_login(lead)
    response = client.get(reverse("project_judgments", args=[project.slug]))
    assert response.status_code == 200
    assert_sanitised(response.content.decode(), started=["prompt"])


@hostile_cases
def test_the_judgment_page_shows_hostile_texts_edit_and_comment_sanitised(client, project, lead, pattern, length):
    judgment = hostile_judgment(project, pattern, length)
    client.force_login(lead)
    response = client.get(reverse("judgment_detail", args=[project.slug, judgment.pk]))
    assert response.status_code == 200
    assert_sanitised(response.content.decode(), whole=["prompt", "A", "B", "E", "comment"])


@hostile_cases
def test_the_imported_pair_page_shows_hostile_texts_sanitised(client, project, lead, pattern, length):
    line = {"prompt": hostile(pattern, length, "prompt"), "chosen": hostile(pattern, length, "chosen"),
            "rejected": hostile(pattern, length, "rejected")}  # fmt: skip
    import_file(project=project, data=(json.dumps(line) + "\n").encode(), filename="pairs.jsonl")
    pair = Comparison.objects.get(project=project)
    client.force_login(lead)
    response = client.get(reverse("imported_pair_detail", args=[project.slug, pair.pk]))
    assert response.status_code == 200
    assert_sanitised(response.content.decode(), whole=["prompt", "chosen", "rejected"])
    listing = client.get(reverse("project_judgments", args=[project.slug]), {"source": "imported"})
    assert listing.status_code == 200
    assert_sanitised(listing.content.decode(), started=["prompt", "chosen", "rejected"])


@hostile_cases
def test_the_instructions_preview_renders_hostile_markdown_sanitised(client, lead, pattern, length):
    client.force_login(lead)
    response = client.post(reverse("instructions_preview"), {"text": hostile(pattern, length, "instructions")})
    assert response.status_code == 200
    assert_sanitised(response.content.decode(), whole=["instructions"])


@hostile_cases
def test_the_rl_audit_page_lists_hostile_samples_sanitised(client, project, lead, pattern, length):
    completion = hostile(pattern, length, "completion")
    ScoredSample.objects.create(project=project, version=1, prompt=hostile(pattern, length, "prompt"),
                                completion=completion, reward=1.5, length=len(completion))  # fmt: skip
    client.force_login(lead)
    response = client.get(reverse("project_rl_audit", args=[project.slug]))
    assert response.status_code == 200
    assert_sanitised(response.content.decode(), started=["prompt", "completion"])


def test_a_text_over_the_render_budget_is_shown_as_escaped_plain_text_with_a_note(client, project, labeler, settings):
    settings.ARBITER_RENDER_MAX_CHARS = 100
    prompt = Prompt.objects.create(project=project, external_id="long", text="**Loud** <script>alert(1)</script> " + "x" * 100)
    Completion.objects.create(prompt=prompt, text="**short** answer")
    Completion.objects.create(prompt=prompt, text="another answer")
    client.force_login(labeler)
    html = client.get(reverse("label", args=[project.slug])).content.decode()
    assert "Shown as plain text: longer than 100 characters (ARBITER_RENDER_MAX_CHARS)" in html
    assert "**Loud** &lt;script&gt;alert(1)&lt;/script&gt; xxx" in html  # all of it, unformatted and inert
    assert "<strong>short</strong>" in html  # texts within the budget are still formatted
    assert_sanitised(html)


def test_markdown_nested_deeper_than_the_budget_is_shown_as_plain_text():
    html = rendering.render_markdown("> " * (rendering.RENDER_MAX_DEPTH + 1) + "deep <b>quote</b>")
    assert f"Shown as plain text: its markdown nests deeper than {rendering.RENDER_MAX_DEPTH} levels" in html
    assert "&gt; &gt; &gt;" in html and "deep &lt;b&gt;quote&lt;/b&gt;" in html and "<blockquote>" not in html
    nested = rendering.render_markdown("> " * 5 + "five deep")
    assert nested.count("<blockquote>") == 5 and "plain text" not in nested


@pytest.fixture
def own_cache(settings, tmp_path):
    """A cache of this test alone: the default one is shared by the whole run (and, on Redis, by earlier runs)."""
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                                      "LOCATION": f"preview-{tmp_path}"}}  # fmt: skip


def test_a_text_is_rendered_once_and_then_served_from_the_cache(monkeypatch, own_cache):
    calls = []
    real = rendering.comrak.render_markdown
    monkeypatch.setattr(rendering.comrak, "render_markdown", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    text = "A text **rendered** once, whatever shows it: [[[[x]( " + "é" * 10
    first, again = rendering.render_markdown(text), rendering.render_markdown(text)
    assert first == again and "<strong>rendered</strong>" in first
    assert len(calls) == 1


def test_a_lone_surrogate_renders_instead_of_failing():
    assert rendering.render_markdown("a\ud800b") == "<p>a?b</p>\n"  # as JSON's "\ud800" can arrive


def test_previews_beyond_the_per_minute_limit_get_429_with_retry_after(client, project, lead, settings, own_cache,
                                                                       monkeypatch):  # fmt: skip
    settings.ARBITER_PREVIEW_PER_MINUTE = 3
    monkeypatch.setattr(rate_limit, "_clock", lambda: 1_000_040.0)  # 40 s before a minute ends (1,000,080)
    other_lead = factories.member(project, "lead", username="other-lead")
    client.force_login(lead)
    url = reverse("instructions_preview")
    assert [client.post(url, {"text": f"**{n}**"}).status_code for n in range(3)] == [200, 200, 200]
    refused = client.post(url, {"text": "**4**"})
    assert refused.status_code == 429 and refused["Retry-After"] == "40"
    assert "At most 3 previews a minute" in refused.content.decode()

    client.force_login(other_lead)  # counted per user
    assert client.post(url, {"text": "x"}).status_code == 200
    client.force_login(lead)
    monkeypatch.setattr(rate_limit, "_clock", lambda: 1_000_080.0)  # the next minute
    assert client.post(url, {"text": "**again**"}).status_code == 200


def test_the_preview_shows_a_text_over_the_render_budget_as_labelers_would_see_it(client, lead, settings):
    settings.ARBITER_RENDER_MAX_CHARS = 10
    client.force_login(lead)
    html = client.post(reverse("instructions_preview"), {"text": "**Twenty characters**"}).content.decode()
    assert "Shown as plain text: longer than 10 characters" in html and "**Twenty characters**" in html

"""Prompts and completions are untrusted LLM output: they must render inert."""

import pytest
from django.urls import reverse

from annotator.models import Completion, Prompt
from annotator.rendering import WORD_DIFF_MAX_WORDS, render_markdown, word_diff
from tests import factories
from tests.pages.inert import assert_inert

HOSTILE = (
    "Hi <script>alert(1)</script> there\n\n"
    "<img src=x onerror=alert(1)>\n\n"
    "[click](javascript:alert(1))\n\n"
    '<a href="javascript:alert(2)">raw link</a>'
)


@pytest.fixture
def hostile_item(project, labeler):
    prompt = Prompt.objects.create(project=project, external_id="evil", text=f"Prompt: {HOSTILE}")
    Completion.objects.create(prompt=prompt, text=f"Completion one: {HOSTILE}")
    Completion.objects.create(prompt=prompt, text="Completion two: <b>bold?</b> & more")
    return prompt


def test_hostile_prompt_and_completions_render_inert_on_the_labeling_page(client, project, labeler, hostile_item):
    client.force_login(labeler)
    html = client.get(reverse("label", args=[project.slug])).content.decode()
    assert "Prompt:" in html and "Completion one:" in html  # the item is on the page
    assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text, not dropped silently


def test_hostile_text_stays_inert_in_the_partial_the_script_swaps_in(client, project, labeler, hostile_item):
    client.force_login(labeler)
    html = client.get(reverse("label", args=[project.slug]), headers={"X-Requested-With": "fetch"}).content.decode()
    assert "Completion one:" in html and "<html" not in html
    assert_inert(html)


def test_project_instructions_are_sanitised_too(client, project, labeler):
    project.instructions = "Be **kind**. <script>alert(1)</script> [x](javascript:alert(1))"
    project.save()
    factories.prompts(project, 1)
    client.force_login(labeler)
    html = client.get(reverse("label", args=[project.slug])).content.decode()
    assert "<strong>kind</strong>" in html
    assert_inert(html)


def test_markdown_link_keeps_web_urls_and_drops_javascript_urls():
    html = render_markdown("[good](https://example.com) [bad](javascript:alert(1)) [mail](mailto:a@b.c)")
    assert 'href="https://example.com"' in html
    assert 'href="mailto:a@b.c"' in html
    assert "javascript" not in html
    assert html.count('rel="nofollow noopener"') == 3


def test_raw_html_is_shown_as_text_not_rendered():
    html = render_markdown('<div onclick="x()">block</div>\n\ninline <img src=x onerror=alert(1)> here')
    assert_inert(html)
    assert "&lt;div onclick" in html and "&lt;img src=x" in html


def test_fenced_code_renders_as_a_preformatted_code_block_with_its_markup_escaped():
    html = render_markdown("```python\nif a < b:\n    print('<b>')\n```")
    assert "<pre><code" in html
    assert "if a &lt; b:\n    print('&lt;b&gt;')" in html


def test_lists_and_emphasis_are_kept():
    html = render_markdown("*soft* and **loud**\n\n- one\n- two\n\n1. first\n2. second")
    assert "<em>soft</em>" in html and "<strong>loud</strong>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<ol>\n<li>first</li>\n<li>second</li>\n</ol>" in html


def test_word_diff_marks_changed_words_and_escapes_them():
    html = word_diff("the <b>cat</b> sat", "the dog sat")
    assert "<del class='diff-del'>&lt;b&gt;cat&lt;/b&gt; </del>" in html
    assert "<ins class='diff-ins'>dog </ins>" in html
    assert html.startswith("the ") and html.endswith("sat")


def test_word_diff_gives_up_on_texts_too_long_to_diff_quickly():
    long_text = "word " * (WORD_DIFF_MAX_WORDS // 2 + 1)
    assert word_diff(long_text, long_text) is None
    assert word_diff("short", "text") is not None

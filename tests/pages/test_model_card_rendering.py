"""A version's model card (the README.md Arbiter writes into every checkpoint) reads on its page as
the Hub shows it: its tables (training data, metrics, training, loaders) as tables, its YAML front
matter left out. Raw HTML in it is still escaped, and the labeling text renderer keeps tables off:
a table's columns cost the parser time quadratic in their number."""

import pytest

from annotator import rendering
from rewardtrain.model_card import model_card
from tests.pages.inert import assert_inert

META = {"version": 3, "project": "cards", "base_model": "bert-tiny", "metrics": {"heldout_accuracy": 0.75}, "data": {"n_pairs": 12}}


@pytest.fixture(autouse=True)
def _no_cache(settings):
    settings.CACHES = {**settings.CACHES, "default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


def test_a_card_s_tables_render_as_tables_and_its_front_matter_is_left_out():
    html = rendering.render_model_card(model_card(META, "v3"))
    assert html.count("<table>") == 4
    assert "<td>held-out pairwise accuracy</td>\n<td>0.75</td>" in html
    assert "<td>preference pairs</td>\n<td>12</td>" in html
    assert "library_name" not in html and "| |" not in html
    assert html.lstrip().startswith("<h1>Arbiter reward model v3 of project cards</h1>")


def test_a_card_s_raw_html_is_escaped():
    html = rendering.render_model_card("| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |\n")
    assert_inert(html)
    assert "&lt;script&gt;" in html


def test_labeling_text_still_renders_no_table():
    assert "<table>" not in rendering.render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n")

"""Every export kind, in every format, imports back into a fresh project of the same mode with
the same pairs, rankings or labels, through the import service the command and the upload page
use; so does what `datasets` writes (Dataset.to_parquet) from a loaded export. The export-only
columns (times, ids, split, labeler) are ignored on the way in, never an error."""

import json

import pytest

from annotator.exports import export_options_from, export_stream
from annotator.imports import ImportFailed, import_stream
from annotator.judgments import judgment_pairs
from annotator.models import Classification, Comparison, Completion, Judgment, Prompt
from annotator.projects import project_create
from tests import factories

pytestmark = pytest.mark.django_db

FORMATS = ["jsonl", "csv", "parquet"]
LABELS = ["not hate", "hate"]


def exported(project, tmp_path, **params):
    """The export written to a file named as the command names it; returns its path."""
    options = export_options_from(params, project=project)
    path = tmp_path / options.filename(project.slug)
    path.write_bytes(b"".join(p if isinstance(p, bytes) else p.encode() for p in export_stream(project=project, options=options)))
    return path


def imported_into_fresh(project, path, **fields):
    """The file imported, as the upload page imports it (format detected from the name and the
    first line), into a new project of `project`'s mode."""
    fresh = factories.project(mode=project.mode, labels=project.labels, positive_label=project.positive_label, **fields)
    with open(path, "rb") as stream:
        import_stream(project=fresh, stream=stream, filename=path.name)
    return fresh


def pairs_of(project, **filters):
    return sorted(
        Comparison.objects.filter(project=project, **filters).values_list(
            "prompt__external_id", "prompt__text", "chosen__text", "rejected__text"
        )
    )


def labels_of(project, **filters):
    return sorted(
        Classification.objects.filter(project=project, **filters).values_list(
            "prompt__external_id", "prompt__text", "completion__text", "label"
        )
    )


def pairs_judged(project):
    """The pairs every judgment of the project implies, as texts (what a judgments export holds)."""
    texts = dict(Completion.objects.filter(prompt__project=project).values_list("id", "text"))
    return sorted(
        (judgment.prompt.external_id, judgment.prompt.text, texts[chosen], texts[rejected])
        for judgment in Judgment.objects.filter(prompt__project=project).select_related("prompt")
        for chosen, rejected in judgment_pairs(judgment)
    )


# --- pairwise and ranking projects ------------------------------------------------------------


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_pairs_export_imports_back_with_the_same_pairs(data, tmp_path, file_format):
    path = exported(data.project, tmp_path, format=file_format)
    fresh = imported_into_fresh(data.project, path)
    assert pairs_of(fresh) == pairs_of(data.project)
    assert ("held", "Q held 4", "-edited", "plain") in pairs_of(fresh)  # a CSV's "'-edited" is "-edited" again


@pytest.fixture
def hh_project(project):
    """Pairs imported from HH dialogues: the prompts the conversational and hh forms write whole."""
    lines = [
        {"chosen": "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: =1+1?\n\nAssistant: 2", "rejected":
         "\n\nHuman: Hi\n\nAssistant: Hello!\n\nHuman: =1+1?\n\nAssistant: 3"},
        {"chosen": "\n\nHuman: Say nothing.\n\nAssistant:", "rejected": "\n\nHuman: Say nothing.\n\nAssistant: No."},
        {"chosen": "\n\nHuman: Quote me\n\nAssistant: '=x' is a formula", "rejected":
         "\n\nHuman: Quote me\n\nAssistant: -no"},
    ]  # fmt: skip
    from annotator.imports import import_file

    import_file(project=project, data="\n".join(json.dumps(line) for line in lines).encode(), format="hh")
    return project


@pytest.mark.parametrize("form", ["explicit", "conversational", "hh"])
@pytest.mark.parametrize("file_format", FORMATS)
def test_every_form_of_an_hh_projects_pairs_imports_back_with_the_same_pairs(hh_project, tmp_path, file_format, form):
    path = exported(hh_project, tmp_path, format=file_format, form=form)
    fresh = imported_into_fresh(hh_project, path)
    assert pairs_of(fresh) == pairs_of(hh_project) and len(pairs_of(fresh)) == 3


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_rankings_export_imports_back_with_the_same_ranked_pairs(data, tmp_path, file_format):
    path = exported(data.project, tmp_path, format=file_format, kind="rankings")
    fresh = imported_into_fresh(data.project, path, completions_shown=3)
    bob = data.judgments["j2"]
    assert pairs_of(fresh) == [("train", "Q train", "two", "one")] == [
        (p.prompt.external_id, p.prompt.text, p.chosen.text, p.rejected.text) for p in bob.comparisons.all()
    ]
    # The excluded completion was checked but, ranking against nothing, is not stored.
    assert not Completion.objects.filter(prompt__project=fresh, text="three").exists()


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_judgments_export_imports_back_as_the_pairs_its_judgments_imply(data, tmp_path, file_format):
    path = exported(data.project, tmp_path, format=file_format, kind="judgments")
    fresh = imported_into_fresh(data.project, path)
    assert pairs_of(fresh) == pairs_judged(data.project)
    assert ("held", "Q held 4", "-edited", "=SUM(A1)") in pairs_of(fresh)  # the edit beats its original
    assert set(Comparison.objects.filter(project=fresh).values_list("source", flat=True)) == {"imported"}


def test_a_judgments_line_with_a_tie_gives_no_pair_and_a_bad_id_is_an_error_naming_the_line(project):
    from annotator.imports import import_file

    tie = {"prompt": "Q", "shown": [1, 2], "shown_texts": ["x", "y"], "choice": "tie", "ranking": [], "excluded": []}
    bad = {**tie, "choice": "", "ranking": [2, 7]}
    report = import_file(project=project, data=json.dumps(tie).encode())
    assert report.comparisons_created == 0
    with pytest.raises(ImportFailed) as failed:
        import_file(project=project, data=f"{json.dumps(tie)}\n{json.dumps(bad)}".encode())
    assert [str(e) for e in failed.value.errors] == ["line 2, ranking: must be a list of ids of the completions shown"]


# --- classify projects ------------------------------------------------------------------------


@pytest.fixture
def classify(lead):
    project = project_create(slug="moderation", mode="classify", labels=LABELS, positive_label="not hate",
                             completions_shown=2)  # fmt: skip
    alice = factories.member(project, "labeler", username="alice")
    prompt = Prompt.objects.create(project=project, external_id="p1", text="Reply to the post")
    kind, rude, hard = (Completion.objects.create(prompt=prompt, text=t) for t in ("+1, agreed", "Vanish.", "Hm"))
    judgment = Judgment.objects.create(
        annotator=alice, prompt=prompt, shown=[kind.pk, rude.pk, hard.pk], excluded=[hard.pk],
        labels={str(kind.pk): "not hate", str(rude.pk): "hate"}, client_id="c1",
    )  # fmt: skip
    for completion, label in ((kind, "not hate"), (rude, "hate")):
        Classification.objects.create(
            project=project, prompt=prompt, completion=completion, label=label, judgment=judgment, annotator=alice
        )
    other = Prompt.objects.create(project=project, external_id="p2", text="Greet a newcomer")
    welcome = Completion.objects.create(prompt=other, text="Welcome!")
    Classification.objects.create(project=project, prompt=other, completion=welcome, label="not hate", source="imported")
    return project


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_labels_export_imports_back_with_the_same_labels(classify, tmp_path, file_format):
    path = exported(classify, tmp_path, format=file_format)
    fresh = imported_into_fresh(classify, path)
    assert labels_of(fresh) == labels_of(classify) and len(labels_of(fresh)) == 3


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_classify_projects_judgments_export_imports_back_as_its_labels(classify, tmp_path, file_format):
    path = exported(classify, tmp_path, format=file_format, kind="judgments")
    fresh = imported_into_fresh(classify, path)
    assert labels_of(fresh) == labels_of(classify, source="human")  # the left-out completion has none


def test_a_classify_judgments_file_into_a_pairwise_project_is_an_error_naming_the_line(classify, project, tmp_path):
    path = exported(classify, tmp_path, kind="judgments")
    with pytest.raises(ImportFailed) as failed, open(path, "rb") as stream:
        import_stream(project=project, stream=stream, filename=path.name)
    assert [str(e) for e in failed.value.errors] == [
        "line 1, labels: a classify project's judgment: import it into a classify project"
    ]


# --- what datasets writes of a loaded export ---------------------------------------------------


@pytest.mark.parametrize("kind", ["pairs", "rankings", "judgments"])
def test_an_export_loaded_by_datasets_and_written_by_to_parquet_imports_back(data, tmp_path, kind):
    from datasets import load_dataset

    path = exported(data.project, tmp_path, kind=kind)
    loaded = load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    written = tmp_path / f"{kind}-by-datasets.parquet"
    loaded.to_parquet(str(written))
    expected = imported_into_fresh(data.project, path, completions_shown=3)
    fresh = imported_into_fresh(data.project, written, completions_shown=3)
    assert pairs_of(fresh) == pairs_of(expected) != []


def test_a_labels_export_loaded_by_datasets_and_written_by_to_parquet_imports_back(classify, tmp_path):
    from datasets import load_dataset

    path = exported(classify, tmp_path)
    loaded = load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    written = tmp_path / "labels-by-datasets.parquet"
    loaded.to_parquet(str(written))
    assert labels_of(imported_into_fresh(classify, written)) == labels_of(classify)


def test_a_csv_export_gives_back_texts_that_start_like_a_formula_or_with_a_quote(project, tmp_path):
    from annotator.imports import import_file

    replies = ["=SUM(A1)", "'=already quoted", "''+two quotes", "'plain quote", "-1", "'"]
    lines = [{"prompt": f"Q{i}", "chosen": reply, "rejected": "fine"} for i, reply in enumerate(replies)]
    import_file(project=project, data="\n".join(json.dumps(line) for line in lines).encode())
    fresh = imported_into_fresh(project, exported(project, tmp_path, format="csv"))
    assert sorted(c for _, _, c, _ in pairs_of(fresh)) == sorted(replies)

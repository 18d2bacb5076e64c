"""Base models load only from folders under ARBITER_MODEL_ROOTS; anything else is refused before a run."""

import os

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from rewardtrain import config, runs
from rewardtrain.config import InvalidTrainingOptions
from rewardtrain.model_roots import base_model_check, base_model_choices
from rewardtrain.models import TrainingRun
from rewardtrain.training import default_base_model
from tests import factories
from tests.factories import QUALITY_DEFAULTS
from tests.lead.test_console_pages import settings_post
from tests.rewardtrain.comparisons import make_comparisons, train_small
from tests.rewardtrain.conftest import make_tiny_model


@pytest.fixture(scope="module")
def outside_model(tmp_path_factory):
    """A perfectly good model folder that is not under any model root."""
    return make_tiny_model(tmp_path_factory.mktemp("not-a-model-root") / "bert")


def train_api(user, project):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/projects/{project.slug}/train/", {}, format="json")


def test_a_project_base_model_outside_the_roots_is_a_400_and_no_run(project, lead, outside_model):
    project.base_model = str(outside_model)
    project.save()
    response = train_api(lead, project)
    assert response.status_code == 400
    message = response.json()["errors"]["non_field_errors"][0]
    assert message == f"project {project.slug}'s base_model is not under ARBITER_MODEL_ROOTS, the only folders base models load from"
    assert str(outside_model) not in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_a_symlink_inside_a_root_that_points_out_is_refused(project, lead, outside_model, model_root):
    link = model_root / f"link-{project.slug}"
    os.symlink(outside_model, link)
    project.base_model = str(link)
    project.save()
    assert train_api(lead, project).status_code == 400
    assert not TrainingRun.objects.exists()


def test_a_missing_folder_under_a_root_is_refused(project, lead, model_root):
    project.base_model = str(model_root / "no-such-model")
    project.save()
    response = train_api(lead, project)
    assert response.status_code == 400 and "is not a folder" in response.json()["errors"]["non_field_errors"][0]


def test_the_setting_is_checked_too(project, lead, outside_model, settings):
    settings.ARBITER_BASE_MODEL = str(outside_model)
    response = train_api(lead, project)
    assert response.status_code == 400 and "ARBITER_BASE_MODEL is not under" in response.content.decode()


def test_the_packaged_model_is_allowed_by_default_but_not_once_the_roots_leave_it_out(project, lead, settings, tmp_path):
    assert runs.train_config_for(project=project, options={}).base_model == ""
    settings.ARBITER_MODEL_ROOTS = [tmp_path]
    with pytest.raises(config.InvalidTrainingOptions, match="the packaged base model is not under"):
        runs.train_config_for(project=project, options={})
    settings.ARBITER_MODEL_ROOTS = [os.path.dirname(default_base_model())]
    runs.train_config_for(project=project, options={})


def test_a_model_under_a_root_trains(project, tiny_model):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    assert train_small(project).status == "succeeded"


def test_the_command_refuses_base_model_outside_the_roots(project, outside_model):
    with pytest.raises(CommandError, match="No run started: the base_model option is not under ARBITER_MODEL_ROOTS"):
        call_command("train_reward_model", project.slug, "--sync", "--base-model", str(outside_model))
    assert not TrainingRun.objects.exists()


def test_retrain_now_on_the_page_says_why_no_run_started(project, lead, outside_model, client):
    project.base_model = str(outside_model)
    project.save()
    client.force_login(lead)
    page = client.post(f"/projects/{project.slug}/models/train/", follow=True).content.decode()
    assert "No run started: project" in page and "is not under ARBITER_MODEL_ROOTS" in page
    assert not TrainingRun.objects.exists()


def test_a_queued_run_whose_base_model_left_the_roots_fails_with_the_reason(project, tiny_model, settings, tmp_path):
    project.base_model = tiny_model
    project.save()
    make_comparisons(project, 40)
    run = runs.training_run_start(project=project, trigger=TrainingRun.Trigger.MANUAL, enqueue=False)
    settings.ARBITER_MODEL_ROOTS = [tmp_path]
    run = runs.training_run_execute(run_id=run.id)
    assert run.status == "failed" and run.error.strip().endswith("is not under ARBITER_MODEL_ROOTS, the only folders base models load from")


def test_the_project_admin_form_refuses_a_base_model_outside_the_roots(project, outside_model, tiny_model, client):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(superuser)
    url = f"/admin/annotator/project/{project.pk}/change/"
    form = {
        "slug": project.slug, "name": project.name, "mode": project.mode, "completions_shown": project.completions_shown,
        "overlap": project.overlap, "lease_seconds": project.lease_seconds, "instructions": "",
        "retrain_min_new_comparisons": project.retrain_min_new_comparisons, "allow_tie": "on", "allow_edit": "on",
        **QUALITY_DEFAULTS,
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
    }
    refused = client.post(url, {**form, "base_model": str(outside_model)})
    assert refused.status_code == 200 and "this base model is not under ARBITER_MODEL_ROOTS" in refused.content.decode()
    project.refresh_from_db()
    assert project.base_model == ""
    accepted = client.post(url, {**form, "base_model": tiny_model})
    assert accepted.status_code == 302
    project.refresh_from_db()
    assert project.base_model == tiny_model


def test_beat_skips_a_project_with_a_base_model_outside_the_roots_and_schedules_the_others(
    project, outside_model, monkeypatch
):
    monkeypatch.setattr(runs, "_enqueue", lambda run: None)
    project.base_model = str(outside_model)
    project.retrain_min_new_comparisons = 1
    project.save()
    make_comparisons(project, 2)
    other = factories.project()
    other.retrain_min_new_comparisons = 1
    other.save()
    make_comparisons(other, 2)
    started = runs.schedule_retraining()
    assert [run.project for run in started] == [other]


# --- only loadable model folders: config.json, weights and a tokenizer ---------------------

PACKAGED = os.path.realpath(default_base_model())
NOT_A_MODEL = "is not a loadable model folder: it has no"


def folder_with(root, name, *files):
    folder = root / name
    folder.mkdir()
    for file in files:
        (folder / file).write_text("{}")
    return folder


def test_the_packaged_models_pooling_folder_is_not_offered_and_the_packaged_model_is(settings):
    settings.ARBITER_MODEL_ROOTS = [PACKAGED]
    values = [value for value, _ in base_model_choices()]
    assert values == ["", PACKAGED] and os.path.isdir(os.path.join(PACKAGED, "1_Pooling"))


def test_only_folders_with_config_weights_and_a_tokenizer_are_offered(settings, tmp_path):
    folder_with(tmp_path, "bert", "config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")
    folder_with(tmp_path, "sharded", "config.json", "pytorch_model.bin.index.json", "tokenizer.json")
    folder_with(tmp_path, "no-weights", "config.json", "tokenizer.json")
    folder_with(tmp_path, "no-tokenizer", "config.json", "model.safetensors", "tokenizer_config.json")
    folder_with(tmp_path, "pooling", "config.json")
    settings.ARBITER_MODEL_ROOTS = [tmp_path]
    assert [value for value, _ in base_model_choices()] == ["", str(tmp_path / "bert"), str(tmp_path / "sharded")]


@pytest.mark.parametrize(
    "files, missing",
    [
        (("config.json",), "weights (model.safetensors, pytorch_model.bin or a sharded index) and no tokenizer"),
        (("config.json", "model.safetensors", "tokenizer_config.json"), "tokenizer (tokenizer.json, vocab.txt,"),
        (("model.safetensors", "tokenizer.json"), "config.json"),
    ],
    ids=["config-only", "no-tokenizer", "no-config"],
)
def test_the_check_names_what_a_folder_lacks(model_root, files, missing, tmp_path):
    folder = folder_with(model_root, tmp_path.name, *files)
    with pytest.raises(InvalidTrainingOptions) as refused:
        base_model_check(str(folder), source="this base model")
    assert str(refused.value).startswith(f"this base model {NOT_A_MODEL} ") and missing in str(refused.value)


def test_a_project_set_to_the_pooling_folder_is_refused_on_save_with_the_reason(client, project, lead, settings):
    settings.ARBITER_MODEL_ROOTS = [PACKAGED]
    pooling = os.path.join(PACKAGED, "1_Pooling")
    project.base_model = pooling  # saved before the check existed
    project.save()
    client.force_login(lead)
    url = f"/projects/{project.slug}/settings/"
    assert (pooling, f"{pooling} (current)") in client.get(url).context["form"].fields["base_model"].choices
    response = client.post(url, settings_post(project, overlap=2))
    assert response.status_code == 400
    [error] = response.context["form"].errors["base_model"]
    assert error.startswith(f"this base model {NOT_A_MODEL} weights") and "no tokenizer" in error
    assert client.post(url, settings_post(project, base_model="")).status_code == 302


def test_training_a_project_set_to_the_pooling_folder_is_a_400_naming_what_is_missing(project, lead, settings):
    settings.ARBITER_MODEL_ROOTS = [PACKAGED]
    project.base_model = os.path.join(PACKAGED, "1_Pooling")
    project.save()
    response = train_api(lead, project)
    assert response.status_code == 400
    assert response.json()["errors"]["non_field_errors"][0].startswith(f"project {project.slug}'s base_model {NOT_A_MODEL}")
    assert not TrainingRun.objects.exists()

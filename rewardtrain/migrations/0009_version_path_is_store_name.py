"""A version's `path` becomes its name in the checkpoint store (<slug>/v<N>), not a host's folder.

Rows whose folder lies under ARBITER_CHECKPOINT_DIR lose that prefix; a row elsewhere keeps its
absolute path and is read from that folder as before (checkpoint_store.version_folder)."""

from pathlib import Path

from django.conf import settings
from django.db import migrations, models


def to_store_names(apps, schema_editor):
    version_model = apps.get_model("rewardtrain", "RewardModelVersion")
    root = Path(settings.ARBITER_CHECKPOINT_DIR).resolve()
    for row in version_model.objects.all().only("pk", "path"):
        path = Path(row.path)
        if path.is_absolute() and path.resolve().is_relative_to(root):
            row.path = path.resolve().relative_to(root).as_posix()
            row.save(update_fields=["path"])


def to_folders(apps, schema_editor):
    version_model = apps.get_model("rewardtrain", "RewardModelVersion")
    root = Path(settings.ARBITER_CHECKPOINT_DIR)
    for row in version_model.objects.all().only("pk", "path"):
        if not Path(row.path).is_absolute():
            row.path = str(root / row.path)
            row.save(update_fields=["path"])


class Migration(migrations.Migration):
    dependencies = [("rewardtrain", "0008_trainingrun_note")]

    operations = [
        migrations.AlterField(
            model_name="rewardmodelversion",
            name="path",
            field=models.CharField(
                help_text="The checkpoint's name in the checkpoint store: <slug>/v<N>.", max_length=1000
            ),
        ),
        migrations.RunPython(to_store_names, to_folders),
    ]

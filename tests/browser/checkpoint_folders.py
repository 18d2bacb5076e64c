"""A published version without training: a checkpoint folder of the given files with a pinned
manifest, and its row, so that a browser test reaches the version pages, downloads and
promotion in seconds. The pages and the checks read only the files and the pin, never a model."""


from django.conf import settings

from rewardtrain.checkpoint_store import version_folder
from rewardtrain.checkpoints import manifest_pin, write_manifest
from rewardtrain.models import RewardModelVersion


def published_version(project, number, files, **row):
    """Version `number` of `project`, its folder holding `files` ({relative path: text}) and a
    manifest pinned on the row; `row` sets other fields (status, rejected_reason, metrics...)."""
    folder = settings.ARBITER_CHECKPOINT_DIR / project.slug / f"v{number}"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    write_manifest(folder)
    pin = manifest_pin(folder)
    return RewardModelVersion.objects.create(
        project=project, version=number, path=str(folder), manifest_sha256=pin.sha256, manifest_size=pin.size, **row
    )


def folder_files(version):
    """{relative path: bytes} of every file in the version's folder, manifest.json included."""
    folder = version_folder(version)
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}

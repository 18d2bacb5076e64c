"""python manage.py verify_checkpoints [project ...] [--write-missing-manifests] [--pin-unpinned]

Checks every version's checkpoint against its row and its manifest, as promotion and scoring do,
and prints one line per version. Exit status 1 when any fails; a failure is recorded on the row
(the models page shows it) and in the audit log, as anywhere else it is found.

Checkpoints published before manifests existed have none and are refused everywhere. After
making sure such a folder is intact, `--write-missing-manifests` records what is there now;
it touches no folder that has a manifest or fails any other check. A pinned version whose
manifest was deleted gets it back only if the one written is byte for byte the one published.

Versions published before pins are checked against their own manifest only (their line says
"unpinned"). `--pin-unpinned` records the manifest of each such folder that verifies, as it is
now: from then on a manifest rewritten with its files is refused.
"""

from django.core.management.base import BaseCommand, CommandError

from annotator.models import Project
from rewardtrain import checkpoint_store
from rewardtrain.checkpoints import MANIFEST_FILE, CheckpointInvalid, ManifestMissing, write_manifest
from rewardtrain.models import RewardModelVersion
from rewardtrain.verification import version_pin, version_verify

DETECTED_BY = "verify_checkpoints"
UNPINNED = "unpinned: checked against its own manifest only; --pin-unpinned pins it"


class Command(BaseCommand):
    help = "Verify reward-model checkpoints against their rows and manifests."

    def add_arguments(self, parser):
        parser.add_argument("projects", nargs="*", help="Project slugs (default: all).")
        parser.add_argument(
            "--write-missing-manifests", action="store_true", help="Write a manifest for folders published without one."
        )
        parser.add_argument(
            "--pin-unpinned", action="store_true", help="Record the manifest of versions published before pins."
        )

    def handle(self, *args, projects, write_missing_manifests, pin_unpinned, **_):
        rows = Project.objects.order_by("slug")
        if projects:
            rows = rows.filter(slug__in=projects)
            unknown = set(projects) - {project.slug for project in rows}
            if unknown:
                raise CommandError(f"No project {', '.join(sorted(unknown))}.")
        failed = 0
        for project in rows:
            for version in RewardModelVersion.objects.filter(project=project).order_by("version"):
                try:
                    outcome = check(version, write_missing=write_missing_manifests, pin=pin_unpinned)
                except CheckpointInvalid as error:
                    outcome, failed = f"FAILED: {error}", failed + 1
                self.stdout.write(f"{project.slug} v{version.version}: {outcome}")
        if failed:
            raise CommandError(f"{failed} checkpoint(s) failed verification.")


def check(version, *, write_missing, pin) -> str:
    """What the version's line says; CheckpointInvalid when it fails. With a remote store, the
    version is fetched into this host's cache and checked there (a fetch that fails is refused)."""
    notes = []
    try:
        notes += _verified(version, pin=pin)
    except ManifestMissing:
        folder = checkpoint_store.cached_folder(version)
        if not write_missing or folder is None or checkpoint_store.is_remote():
            raise  # a manifest is written only into a local folder, never into a cache's copy
        manifest = folder / MANIFEST_FILE
        write_manifest(folder)
        try:
            notes += ["manifest written", *_verified(version, pin=pin)]
        except CheckpointInvalid:
            manifest.unlink(missing_ok=True)  # not the one published: leave the folder as it was found
            raise
    return f"ok ({'; '.join(notes)})" if notes else "ok"


def _verified(version, *, pin) -> list[str]:
    if version.manifest_pin is not None:
        version_verify(version=version, detected_by=DETECTED_BY)
        return []
    if pin:
        version_pin(version=version, detected_by=DETECTED_BY)
        return ["pinned now"]
    version_verify(version=version, detected_by=DETECTED_BY)
    return [UNPINNED]

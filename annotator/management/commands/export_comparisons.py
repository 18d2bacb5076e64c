"""python manage.py export_comparisons <project-slug> [--format jsonl|csv|parquet] [--kind ...] [filters] [-o FILE]"""

import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator import exports
from annotator.export_audit import export_audit
from annotator.export_formats import FORMATS
from annotator.models import Project


class Command(BaseCommand):
    help = (
        "Write a project's pairs, rankings, judgments or (classify projects) labels as JSONL, CSV or Parquet "
        "(see README, Export)."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="project slug")
        parser.add_argument("--format", choices=list(FORMATS), default="jsonl")
        parser.add_argument("--kind", choices=exports.KINDS, help="default: labels for a classify project, else pairs")
        parser.add_argument("--form", choices=exports.FORMS, default="explicit", help="pairs only")
        parser.add_argument("--since", help="ISO date or time: created at or after")
        parser.add_argument("--until", help="ISO date or time: created before")
        parser.add_argument("--labelers", help="comma-separated usernames")
        parser.add_argument("--source", choices=exports.SOURCES)
        parser.add_argument("--split", choices=exports.SPLITS)
        parser.add_argument("--hash-annotators", action="store_true", help="keyed hashes instead of usernames")
        parser.add_argument(
            "--min-agreement", metavar="X",
            help="0..1: only prompts whose judgments agree with their majority at least this much "
                 "(a prompt no two labelers answered has no figure and is left out)",
        )
        parser.add_argument(
            "--exclude-flagged", action="store_true",
            help="leave out labelers the quality report flags and judgments faster than the project's min_seconds",
        )
        parser.add_argument(
            "--include-gold", action="store_true",
            help="keep gold prompts' human rows in pairs, rankings and labels (the judgments kind always has them)",
        )
        parser.add_argument(
            "--include-taken-out", action="store_true",
            help="keep the rows of prompts a lead took out of the queue (left out by default, as in training)",
        )
        parser.add_argument(
            "--review", choices=exports.REVIEW_FILTERS, default=exports.REVIEW_DEFAULT,
            help="whose rows: accepted judgments only (no imported rows), all but rejected judgments' (the default) "
                 "or any",
        )
        parser.add_argument("-o", "--output", type=Path, help="file to write; standard output when left out")

    def handle(self, *, project, output, **options):
        project_row = Project.objects.filter(slug=project).first()
        if project_row is None:
            raise CommandError(f"No project with slug {project!r}.")
        try:
            export_options = exports.export_options_from({name: options.get(name) for name in (
                "format", "kind", "form", "since", "until", "labelers", "source", "split", "hash_annotators",
                "min_agreement", "exclude_flagged", "include_gold", "include_taken_out", "review")},
                project=project_row)
        except exports.ExportOptionsError as error:
            raise CommandError(str(error)) from None
        if not exports.export_has_rows(project=project_row, options=export_options):
            # Still written, for scripts that expect a file; but datasets will not load it.
            self.stderr.write(f"{exports.NOTHING_TO_EXPORT} The file is written all the same, without rows.")
        export_audit(project=project_row, actor=None, options=export_options, via="command")
        pieces = exports.export_stream(project=project_row, options=export_options)
        binary = export_options.format == "parquet"
        if output is None:
            if binary:
                for piece in pieces:
                    sys.stdout.buffer.write(piece)
                sys.stdout.buffer.flush()
            else:
                for piece in pieces:
                    self.stdout.write(piece, ending="")
            return
        # Written beside the target and renamed into place, so a failed export
        # never leaves a truncated file that looks complete.
        partial = output.with_name(output.name + ".partial")
        try:
            with open(partial, "wb") if binary else open(partial, "w", encoding="utf-8", newline="") as f:
                for piece in pieces:
                    f.write(piece)
            os.replace(partial, output)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from None
        self.stderr.write(f"Wrote the {export_options.kind} of {project} to {output}.")

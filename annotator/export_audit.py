"""The audit entry of an export: who downloaded which kind, in which format, with which filters.

Written when the download starts, from the page, the API and the command alike. The filters are
the options that differ from their defaults, so an option added to ExportOptions is logged too.
"""

from dataclasses import fields
from datetime import datetime

from .audit_log import audit_record
from .exports import ExportOptions

NOT_FILTERS = ("format", "kind", "form")  # what is exported, not which rows


def _json_value(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def export_filters(options: ExportOptions) -> dict:
    defaults = ExportOptions()
    return {
        f.name: _json_value(getattr(options, f.name))
        for f in fields(ExportOptions)
        if f.name not in NOT_FILTERS and getattr(options, f.name) != getattr(defaults, f.name)
    }


def export_audit(*, project, actor, options: ExportOptions, via: str):
    """Log the export; `via` is "page", "api" or "command" (actor None: a script)."""
    detail = {"kind": options.kind, "format": options.format, "filters": export_filters(options), "via": via}
    if options.kind == "pairs":
        detail["form"] = options.form
    return audit_record(actor=actor, project=project, action="data.export", detail=detail)

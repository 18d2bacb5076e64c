"""Audit entries as sentences a lead reads: "lead changed overlap 2 → 3".

One small function per action, each given the entry's detail; `audit_sentence(entry)` picks
it. They return plain text (the templates escape it) with long values cut. An action without
a function here, or a detail that lacks what its function expects (written by older code),
still reads as a sentence naming the action and its values, never as a dict.
"""

import json

MAX_VALUE_CHARS = 80  # a changed instructions text or a refusal reason can run to pages
SYSTEM = "Arbiter"  # entries with no actor: lockouts, checkpoint checks, scripts


def value_text(value, limit=MAX_VALUE_CHARS):
    """One value in a sentence: text quoted, lists and objects as JSON, cut to `limit` characters."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        text = " ".join(value.split())  # line breaks would run the table's row together
        return f'"{_cut(text, limit - 2)}"' if text else "(empty)"
    if isinstance(value, (list, dict)):
        return _cut(json.dumps(value, ensure_ascii=False), limit)
    return _cut(str(value), limit)


def _cut(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _project_create(who, detail):
    return f"{who} created the project"


def _project_update(who, detail):
    changes = ", ".join(f"{name} {value_text(old)} → {value_text(new)}" for name, (old, new) in detail["changes"].items())
    return f"{who} changed {changes}"


def _project_archive(who, detail):
    return f"{who} archived the project"


def _project_restore(who, detail):
    return f"{who} restored the project"


def _project_delete(who, detail):
    return (
        f"{who} deleted the project {value_text(detail['name'])} with {detail['prompts']} prompts, "
        f"{detail['judgments']} judgments and {detail['model_versions']} model versions"
    )


# In this order: PostgreSQL's jsonb does not keep a detail's keys in the order they were written.
CREATED_ORDER = ("prompts", "completions", "comparisons", "labels")
SKIPPED_ORDER = ("already_there", "identical", "unranked", "invalid")


def _counts(counts, order):
    names = [*(name for name in order if name in counts), *sorted(set(counts) - set(order))]
    return ", ".join(f"{counts[name]} {name.replace('_', ' ')}" for name in names)


def _data_import(who, detail):
    created = _counts(detail["created"], CREATED_ORDER) or "nothing new"
    skipped = f"; skipped {_counts(detail['skipped'], SKIPPED_ORDER)}" if detail["skipped"] else ""
    return f"{who} imported {value_text(detail['filename'])} ({detail['format']}): {created}{skipped}"


VIA_WORDS = {"page": "the export page", "api": "the API", "command": "the command line"}


def _data_export(who, detail):
    what = f"{detail['kind']} ({detail['form']})" if "form" in detail else detail["kind"]
    filters = ", ".join(f"{name.replace('_', ' ')} {value_text(value)}" for name, value in sorted(detail["filters"].items()))
    via = VIA_WORDS.get(detail["via"], detail["via"])
    return f"{who} exported {what} as {detail['format']} from {via}, " + (
        f"filtered by {filters}" if filters else "unfiltered"
    )


def _member_add(who, detail):
    if detail.get("created_user"):
        return f"{who} created the account {detail['username']} and added it as {detail['role']}"
    return f"{who} added {detail['username']} as {detail['role']}"


def _member_role(who, detail):
    old, new = detail["role"]
    return f"{who} changed {detail['username']}'s role {old} → {new}"


def _member_remove(who, detail):
    return f"{who} removed {detail['username']} ({detail['role']})"


def _judgment_undo(who, detail):
    return f"{who} undid their judgment #{detail['judgment']} of prompt {value_text(detail['prompt'])}"


def _judgment_accept(who, detail):
    was = " (it was rejected)" if detail.get("was") == "rejected" else ""
    return f"{who} accepted {detail['labeler']}'s judgment #{detail['judgment']} of prompt {value_text(detail['prompt'])}{was}"


def _judgment_reject(who, detail):
    return (
        f"{who} rejected {detail['labeler']}'s judgment #{detail['judgment']} of prompt "
        f"{value_text(detail['prompt'])}: {value_text(detail['reason'])}"
    )


def _prompt_gold(who, detail):
    prompt, old, new = value_text(detail["prompt"]), detail["old"], detail["new"]
    if new is None:
        return f"{who} made prompt {prompt} an ordinary prompt again (gold answer was {value_text(old)})"
    if old is None:
        return f"{who} made prompt {prompt} a gold item with the answer {value_text(new)}"
    return f"{who} changed the gold answer of prompt {prompt} {value_text(old)} → {value_text(new)}"


def _prompts_counted(detail):
    """ "3 prompts" from a prompt action's detail."""
    return f"{detail['count']} prompt" + ("" if detail["count"] == 1 else "s")


def _prompts_listed(detail):
    """ ': "a", "b" and 3 more' from a prompt action's detail, whose ids are cut at a number."""
    names = ", ".join(value_text(name) for name in detail["prompts"])
    more = detail["count"] - len(detail["prompts"])
    return (f": {names}" if names else "") + (f" and {more} more" if more > 0 else "")


def _prompt_release(who, detail):
    return f"{who} released the leases of {_prompts_counted(detail)}{_prompts_listed(detail)}"


def _prompt_send_back(who, detail):
    return f"{who} sent {_prompts_counted(detail)} back for one more judgment{_prompts_listed(detail)}"


def _prompt_take_out(who, detail):
    return f"{who} took {_prompts_counted(detail)} out of the queue{_prompts_listed(detail)}"


def _prompt_put_back(who, detail):
    return f"{who} put {_prompts_counted(detail)} back in the queue{_prompts_listed(detail)}"


def _prompt_lift_skips(who, detail):
    return f"{who} lifted the skips of {_prompts_counted(detail)}{_prompts_listed(detail)}"


def _prompt_reassign(who, detail):
    return f"{who} reassigned {_prompts_counted(detail)} to {detail['labeler']}{_prompts_listed(detail)}"


def _model_version_pin(who, detail):
    return f"{who} pinned the manifest of version {detail['version']} (sha256 {detail['manifest_sha256'][:12]}…)"


def _model_version_refused(who, detail):
    return f"{who} refused version {detail['version']}: {value_text(detail['reason'])} (found by {detail['detected_by']})"


def _model_version_verified(who, detail):
    return f"{who} verified version {detail['version']} again (found by {detail['detected_by']})"


def _model_version_promote(who, detail):
    was = f" (was version {detail['previous']})" if detail.get("previous") else ""
    overruled = f", overruling the gate ({detail['overruled']})" if detail.get("overruled") else ""
    return f"{who} made version {detail['version']} current{was}{overruled}"


def _model_version_rollback(who, detail):
    return f"{who} rolled back from version {detail['previous']} to version {detail['version']}"


def _run_start(who, detail):
    options = f" with options {value_text(detail['options'])}" if detail.get("options") else ""
    return f"{who} started training run {detail['run']} ({detail['trigger']}){options}"


def _run_finish(who, detail):
    if detail.get("version") is None:
        return f"training run {detail['run']} {detail['status']}: {value_text(detail.get('reason', ''))}"
    return (
        f"training run {detail['run']} {detail['status']}: version {detail['version']} "
        f"{detail['gate_outcome']} by the gate, {value_text(detail['reason'])}"
    )


# throttling's scopes, as the subject they lock
SCOPE_WORDS = {"login-username": "the username", "login-address": "the address", "token-address": "API tokens from the address"}


def _scope(detail):
    return f"{SCOPE_WORDS.get(detail['scope'], detail['scope'])} {value_text(detail['subject'])}"


def _login_lockout(who, detail):
    return (
        f"{who} locked out {_scope(detail)} "
        f"after {detail['failures']} failed logins, for {detail['seconds']} s"
    )


def _login_unlock(who, detail):
    return f"{who} lifted the lock on {_scope(detail)}"


def _token_create(who, detail):
    return f"{who} created the API token {value_text(detail['name'])} ({detail['prefix']}…)"


def _token_revoke(who, detail):
    return f"{who} revoked the API token {value_text(detail['name'])} ({detail['prefix']}…)"


def _password_change(who, detail):
    return f"{who} changed their password"


def _password_reset(who, detail):
    return f"{who} set a new password from a reset e-mail"


def _rl_audit_items(who, detail):
    return (
        f"{who} sent {len(detail['samples'])} RL samples to labeling "
        f"({detail['prompts_created']} new prompts, {detail['completions_created']} new completions)"
    )


SENTENCES = {
    "project.create": _project_create,
    "project.update": _project_update,
    "project.archive": _project_archive,
    "project.restore": _project_restore,
    "project.delete": _project_delete,
    "data.import": _data_import,
    "data.export": _data_export,
    "member.add": _member_add,
    "member.role": _member_role,
    "member.remove": _member_remove,
    "judgment.undo": _judgment_undo,
    "judgment.accept": _judgment_accept,
    "judgment.reject": _judgment_reject,
    "prompt.gold": _prompt_gold,
    "prompt.release": _prompt_release,
    "prompt.send_back": _prompt_send_back,
    "prompt.take_out": _prompt_take_out,
    "prompt.put_back": _prompt_put_back,
    "prompt.lift_skips": _prompt_lift_skips,
    "prompt.reassign": _prompt_reassign,
    "model_version.pin": _model_version_pin,
    "model_version.refused": _model_version_refused,
    "model_version.verified": _model_version_verified,
    "model_version.promote": _model_version_promote,
    "model_version.rollback": _model_version_rollback,
    "run.start": _run_start,
    "run.finish": _run_finish,
    "login.lockout": _login_lockout,
    "login.unlock": _login_unlock,
    "token.create": _token_create,
    "token.revoke": _token_revoke,
    "password.change": _password_change,
    "password.reset": _password_reset,
    "rl_audit.items": _rl_audit_items,
}


def generic_sentence(who, action, detail):
    """`who` did `action`, then each detail value by name: for actions without a sentence of their own."""
    values = detail if isinstance(detail, dict) else {"detail": detail}
    parts = "; ".join(f"{name.replace('_', ' ')} {value_text(value)}" for name, value in values.items())
    return f"{who} did {action}" + (f": {parts}" if parts else "")


def audit_sentence(entry) -> str:
    who = entry.actor_username or SYSTEM
    sentence = SENTENCES.get(entry.action)
    if sentence is not None:
        try:
            return sentence(who, entry.detail)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            pass  # a detail in an older shape: still readable below
    return generic_sentence(who, entry.action, entry.detail)

"""Project members: granting, changing and removing roles under the console's rules (audited), and users for scripts and the demo."""

from django.contrib.auth import get_user_model
from django.db import transaction

from .audit_log import audit_record
from .models import Assignment, Membership


class MembershipRefused(ValueError):
    """A member change the rules do not allow; the message says which rule."""


def membership_add(*, project, user, role):
    membership, _ = Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
    return membership


def user_get_or_create(*, username, password=None, is_staff=False):
    """A user for scripts and the demo; the password is set only when given."""
    user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": is_staff})
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, created





def _check_membership_rules(*, project, actor_role, old_role, new_role):
    """The rules, kept simple: only an admin grants, changes or removes the admin role, and a
    project that has admins always keeps at least one (so it never loses the people who may
    promote models and read its audit log). Superusers are admins everywhere."""
    admin = Membership.Role.ADMIN
    if admin in (old_role, new_role) and actor_role != admin:
        raise MembershipRefused("Only an admin can grant, change or remove the admin role.")
    if old_role == admin and new_role != admin:
        if Membership.objects.filter(project=project, role=admin).count() <= 1:
            raise MembershipRefused("This is the project's last admin: make someone else admin first.")


def membership_grant(*, project, actor, actor_role, user, role, created_user=False):
    """Add a user to the project with a role (member.add); an existing member is refused."""
    if Membership.objects.filter(project=project, user=user).exists():
        raise MembershipRefused(f"{user.get_username()} is already a member: change their role below.")
    _check_membership_rules(project=project, actor_role=actor_role, old_role=None, new_role=role)
    with transaction.atomic():
        membership = Membership.objects.create(project=project, user=user, role=role)
        audit_record(
            actor=actor,
            project=project,
            action="member.add",
            detail={"username": user.get_username(), "role": role, "created_user": created_user},
        )
    return membership


def membership_user_create_and_grant(*, project, actor, actor_role, username, password, role):
    """A new user account, made a member with `role`, in one transaction (nothing if refused)."""
    _check_membership_rules(project=project, actor_role=actor_role, old_role=None, new_role=role)
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, password=password)
        return membership_grant(
            project=project, actor=actor, actor_role=actor_role, user=user, role=role, created_user=True
        )


def membership_change(*, membership, actor, actor_role, role):
    """Give a member another role (member.role, old and new); the same role is a no-op."""
    old = membership.role
    if old == role:
        return membership
    _check_membership_rules(project=membership.project, actor_role=actor_role, old_role=old, new_role=role)
    with transaction.atomic():
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            actor=actor,
            project=membership.project,
            action="member.role",
            detail={"username": membership.user.get_username(), "role": [old, role]},
        )
    return membership


def membership_remove(*, membership, actor, actor_role):
    """Take a member out of the project (member.remove). Their judgments stay.

    The items they hold go back at once (their leases end as skipped): a late submit from them
    finds no active lease to claim, and the next labeler need not wait for the lease to expire.
    """
    _check_membership_rules(project=membership.project, actor_role=actor_role, old_role=membership.role, new_role=None)
    with transaction.atomic():
        membership.delete()
        Assignment.objects.filter(
            project=membership.project, annotator=membership.user, status=Assignment.Status.ACTIVE
        ).update(status=Assignment.Status.SKIPPED)
        audit_record(
            actor=actor,
            project=membership.project,
            action="member.remove",
            detail={"username": membership.user.get_username(), "role": membership.role},
        )

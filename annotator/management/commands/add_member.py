"""python manage.py add_member <project> <username> <role> [--create [--password ...]] [--print-token]"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from annotator.members import membership_add, user_get_or_create
from annotator.models import Membership, Project


class Command(BaseCommand):
    help = "Give a user a role in a project (changing the role if they already have one)."

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("username")
        parser.add_argument("role", choices=Membership.Role.values)
        parser.add_argument("--create", action="store_true", help="Create the user if there is none by that name.")
        parser.add_argument("--password", help="With --create: the new user's password (else they have none).")
        parser.add_argument(
            "--print-token", action="store_true", help="Print the user's API token (made if missing), alone on stdout."
        )

    def handle(self, *args, project, username, role, create, password, print_token, **_):
        found = Project.objects.filter(slug=project).first()
        if found is None:
            raise CommandError(f"No project {project!r}. Create it with: manage.py create_project {project}")
        if password is not None and not create:
            raise CommandError("--password only goes with --create; use manage.py changepassword for existing users.")
        user = get_user_model().objects.filter(username=username).first()
        if user is None and not create:
            raise CommandError(f"No user {username!r}. Pass --create to make one.")
        if user is not None and password is not None:
            raise CommandError(f"User {username!r} already exists; --password only sets a new user's password.")
        if user is None:
            user, _ = user_get_or_create(username=username, password=password)
        membership_add(project=found, user=user, role=role)
        if print_token:
            token, _ = Token.objects.get_or_create(user=user)
            self.stdout.write(token.key)
        else:
            self.stdout.write(f"{username} is now {role} in {found.slug}.")

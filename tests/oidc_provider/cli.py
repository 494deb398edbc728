"""Set up the test provider's database from the test: `python -m tests.oidc_provider.cli '<json>'`.

The JSON is {"migrate": true, "users": [{"username", "password", "email", "first_name", "last_name",
"groups": [...]}], "clients": [{"client_id", "client_secret", "redirect_uri", "post_logout_redirect_uri"}]}.
A user that exists gets the groups given (so a test changes them between two logins).
"""

import json
import os
import sys

import django


def main(spec):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.oidc_provider.settings")
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    if spec.get("migrate"):
        call_command("migrate", verbosity=0, interactive=False)
    for data in spec.get("users", []):
        user, _ = User.objects.get_or_create(username=data["username"])
        for field in ("email", "first_name", "last_name"):
            setattr(user, field, data.get(field, ""))
        if "password" in data:
            user.set_password(data["password"])
        user.save()
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in data.get("groups", [])])
    for data in spec.get("clients", []):
        Application.objects.filter(client_id=data["client_id"]).delete()
        Application.objects.create(
            name=data["client_id"],
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=data["redirect_uri"],
            post_logout_redirect_uris=data.get("post_logout_redirect_uri", ""),
            algorithm=Application.RS256_ALGORITHM,
            skip_authorization=True,
        )


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))

"""Claims as a corporate provider sends them: username, e-mail, names and the person's groups."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class GroupsValidator(OAuth2Validator):
    # Claims missing from this map would be dropped; the groups come with the openid scope.
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "groups": "openid"}

    def get_additional_claims(self, request):
        user = request.user
        return {
            "preferred_username": user.username,
            "email": user.email,
            "given_name": user.first_name,
            "family_name": user.last_name,
            # Read at each sign-in, so a test can change them between two logins.
            "groups": sorted(user.groups.values_list("name", flat=True)),
        }

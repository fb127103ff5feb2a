"""Pages that show a secret once tell every browser and proxy to keep no copy of them."""

from django.urls import reverse

from tests.factories import PASSWORD


def test_the_page_showing_a_new_api_key_is_not_stored_by_any_cache(client, world):
    owner = world.api_key.created_by
    assert client.login(username=owner.username, password=PASSWORD)
    page = reverse("api_keys", kwargs={"tenant_slug": world.tenant.slug})

    issued = client.post(page, {"name": "ERP"})
    assert issued.status_code == 200 and "cem_" in issued.context["issued"].plaintext
    listed = client.get(page)
    for reply in (issued, listed):
        directives = {part.strip() for part in reply["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= directives

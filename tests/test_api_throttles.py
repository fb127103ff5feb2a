"""API rate limits: per client address before the key is checked, then per key (issue 9)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from organizations.services import API_KEY_PREFIX


@pytest.fixture
def rates(settings, local_cache):
    def rates(*, per_address: str, per_key: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"api_address": per_address, "api_key": per_key},
        }

    return rates


def client_from(address: str, key: str | None = None) -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def assert_throttled(reply) -> None:
    assert reply.status_code == 429, reply.content
    assert int(reply["Retry-After"]) > 0
    assert reply.json()["error"]["code"] == "throttled"


@pytest.mark.parametrize("key", [None, "cem_nope_nope", "garbage"])
def test_missing_and_bad_keys_are_throttled_per_address(db, rates, key):
    rates(per_address="3/minute", per_key="100/minute")
    client = client_from("203.0.113.7", key)
    assert [client.get("/api/v1/surveys/").status_code for _ in range(3)] == [401] * 3
    assert_throttled(client.get("/api/v1/surveys/"))
    assert client_from("203.0.113.8", key).get("/api/v1/surveys/").status_code == 401


def test_a_valid_key_is_throttled_per_key_whatever_the_address(world, rates):
    rates(per_address="100/minute", per_key="2/minute")
    key = world.api_key_plaintext
    assert client_from("198.51.100.1", key).get("/api/v1/surveys/").status_code == 200
    assert client_from("198.51.100.2", key).get("/api/v1/surveys/").status_code == 200
    assert_throttled(client_from("198.51.100.3", key).get("/api/v1/surveys/"))


def test_the_address_limit_covers_valid_keys_too(world, other_world, rates):
    rates(per_address="2/minute", per_key="100/minute")
    for key in (world.api_key_plaintext, other_world.api_key_plaintext):
        assert client_from("192.0.2.1", key).get("/api/v1/surveys/").status_code == 200
    assert_throttled(client_from("192.0.2.1", world.api_key_plaintext).get("/api/v1/surveys/"))


def test_the_x_api_key_header_authenticates(world):
    client = APIClient(HTTP_X_API_KEY=world.api_key_plaintext)
    assert client.get("/api/v1/surveys/").status_code == 200


def test_a_wrong_secret_with_a_keys_prefix_does_not_use_up_that_keys_limit(world, rates):
    rates(per_address="100/minute", per_key="2/minute")
    forged = client_from("198.51.100.9", f"{API_KEY_PREFIX}{world.api_key.prefix}_not-the-secret")
    assert [forged.get("/api/v1/surveys/").status_code for _ in range(5)] == [401] * 5
    key = world.api_key_plaintext
    assert client_from("198.51.100.1", key).get("/api/v1/surveys/").status_code == 200
    assert client_from("198.51.100.2", key).get("/api/v1/surveys/").status_code == 200
    assert_throttled(client_from("198.51.100.3", key).get("/api/v1/surveys/"))


def test_a_request_counts_its_address_and_its_key_in_one_round_trip(world, monkeypatch):
    import organizations.config_version

    counted = []
    real = organizations.config_version.rate_limits_count_seeing
    monkeypatch.setattr(
        "integrations.throttles.rate_limits_count_seeing",
        lambda limits, **kwargs: (
            counted.append([limit.scope for limit in limits]) or real(limits, **kwargs)
        ),
    )
    client = client_from("198.51.100.4", world.api_key_plaintext)
    assert client.get("/api/v1/surveys/").status_code == 200
    assert counted == [["api_address", "api_key"]]

"""API keys (open311/operations/keys.py) against the database: created once, stored hashed,
authenticated, revoked."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from open311.errors import BadRequest, Forbidden, NotFound
from open311.models import ApiKey
from open311.operations.keys import (
    KEY_PREFIX,
    authenticate,
    create_key,
    hash_key,
    list_keys,
    revoke_key,
)


def stored_row(session, key_id: int) -> dict:
    """Every column of the api_key row, as the database holds it."""
    return dict(
        session.execute(sa.text("SELECT * FROM api_key WHERE id = :id"), {"id": key_id})
        .mappings()
        .one()
    )


def fresh(session, key_id: int) -> ApiKey:
    session.expunge_all()
    return session.get(ApiKey, key_id)


def test_created_key_has_the_prefix_and_enough_randomness(session):
    new = create_key(session, "Fix My Street", "dev@example.org")
    assert new.key.startswith("o311_") and KEY_PREFIX == "o311_"
    assert re.fullmatch(r"o311_[A-Za-z0-9_-]{43}", new.key)  # 32 random bytes, urlsafe
    assert new.record.name == "Fix My Street"
    assert new.record.contact == "dev@example.org"
    assert new.record.prefix == new.key[5:13]
    assert new.record.revoked_at is None


def test_only_the_sha256_of_the_key_is_stored(session):
    new = create_key(session, "Fix My Street", "dev@example.org")
    row = stored_row(session, new.record.id)

    assert set(row) == {
        "id",
        "name",
        "contact",
        "prefix",
        "key_hash",
        "created_at",
        "scopes",
        "revoked_at",
    }
    assert row["key_hash"] == hashlib.sha256(new.key.encode()).hexdigest() == hash_key(new.key)
    secret = new.key[len(KEY_PREFIX) :]
    for column, value in row.items():
        text = str(value)
        assert new.key not in text, column
        assert secret not in text, column
        assert secret[8:] not in text, column  # nothing beyond the displayed prefix
    assert row["prefix"] == secret[:8]
    assert row["created_at"] is not None and row["revoked_at"] is None


def test_two_keys_for_the_same_app_differ(session):
    first = create_key(session, "app")
    second = create_key(session, "app")
    assert first.key != second.key
    assert first.record.key_hash != second.record.key_hash
    assert first.record.id != second.record.id
    assert authenticate(session, first.key).id == first.record.id
    assert authenticate(session, second.key).id == second.record.id


def test_app_name_is_trimmed_and_empty_contact_stored_as_null(session):
    new = create_key(session, "  Trimmed App  ", "")
    row = stored_row(session, new.record.id)
    assert row["name"] == "Trimmed App"
    assert row["contact"] is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_app_name_of_1_to_200_characters_is_required(session, name):
    before = session.scalar(sa.select(sa.func.count()).select_from(ApiKey))
    with pytest.raises(BadRequest) as exc:
        create_key(session, name)
    assert exc.value.status == 400
    assert exc.value.description == "an app name of 1 to 200 characters is required"
    assert session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == before


def test_authenticate_accepts_an_active_key(session):
    new = create_key(session, "app")
    key = authenticate(session, new.key)
    assert key.id == new.record.id and key.name == "app"


@pytest.mark.parametrize(
    "raw,message",
    [
        (None, "api_key is required to submit a request"),
        ("", "api_key is required to submit a request"),
        ("o311_notarealkeyatall", "invalid api_key"),
    ],
)
def test_authenticate_refuses_missing_and_unknown_keys(session, raw, message):
    create_key(session, "app")
    with pytest.raises(Forbidden) as exc:
        authenticate(session, raw)
    assert exc.value.status == 403 and exc.value.code == 403
    assert exc.value.description == message


def test_authenticate_refuses_a_near_miss_of_a_real_key(session):
    new = create_key(session, "app")
    for variant in (
        new.key[:-1],
        new.key + "x",
        new.key.upper(),
        " " + new.key,
        new.key[len(KEY_PREFIX) :],
        hash_key(new.key),
    ):
        with pytest.raises(Forbidden, match="invalid api_key"):
            authenticate(session, variant)


def test_revoked_key_is_refused(session):
    new = create_key(session, "app")
    revoke_key(session, str(new.record.id))
    with pytest.raises(Forbidden) as exc:
        authenticate(session, new.key)
    assert exc.value.status == 403
    assert exc.value.description == "this api_key has been revoked"


def test_revoke_by_id(session):
    keep = create_key(session, "other")
    new = create_key(session, "app")
    revoked = revoke_key(session, str(new.record.id))
    assert revoked.id == new.record.id
    assert fresh(session, new.record.id).revoked_at is not None
    assert fresh(session, keep.record.id).revoked_at is None


def test_revoke_by_prefix(session):
    new = create_key(session, "app")
    revoked = revoke_key(session, new.record.prefix)
    assert revoked.id == new.record.id
    assert fresh(session, new.record.id).revoked_at is not None


def test_revoking_twice_keeps_the_first_revocation_time(session):
    new = create_key(session, "app")
    revoke_key(session, str(new.record.id))
    first = fresh(session, new.record.id).revoked_at
    revoke_key(session, str(new.record.id))
    assert fresh(session, new.record.id).revoked_at == first


@pytest.mark.parametrize("ident", ["999999999", "nosuchpf", "", "o311_"])
def test_revoking_an_unknown_ident_is_not_found(session, ident):
    create_key(session, "app")
    with pytest.raises(NotFound) as exc:
        revoke_key(session, ident)
    assert exc.value.status == 404
    assert exc.value.description == f"no key with id or prefix {ident!r}"


def test_replace_revokes_the_apps_older_active_keys_only(session):
    old_one = create_key(session, "app")
    old_two = create_key(session, "app")
    other_app = create_key(session, "other app")

    new = create_key(session, "app", replace=True)

    assert fresh(session, old_one.record.id).revoked_at is not None
    assert fresh(session, old_two.record.id).revoked_at is not None
    assert fresh(session, other_app.record.id).revoked_at is None
    assert fresh(session, new.record.id).revoked_at is None
    assert authenticate(session, new.key).id == new.record.id
    assert authenticate(session, other_app.key).id == other_app.record.id
    with pytest.raises(Forbidden, match="revoked"):
        authenticate(session, old_one.key)


def test_replace_keeps_an_earlier_revocation_time(session):
    old = create_key(session, "app")
    revoke_key(session, str(old.record.id))
    first = fresh(session, old.record.id).revoked_at
    create_key(session, "app", replace=True)
    assert fresh(session, old.record.id).revoked_at == first


def test_without_replace_older_keys_stay_active(session):
    old = create_key(session, "app")
    create_key(session, "app")
    assert authenticate(session, old.key).id == old.record.id


def test_list_keys_returns_every_key_in_id_order(session):
    before = [k.id for k in list_keys(session)]
    first = create_key(session, "first")
    second = create_key(session, "second")
    revoke_key(session, str(first.record.id))
    keys = list_keys(session)
    assert [k.id for k in keys] == [*before, first.record.id, second.record.id]
    assert [k.name for k in keys[-2:]] == ["first", "second"]
    assert keys[-2].revoked_at is not None and keys[-1].revoked_at is None


def test_key_prefixes_never_start_with_a_dash(monkeypatch):
    """A prefix like "-9abc..." would be read as an option by `open311 keys revoke`."""
    from open311.operations import keys

    drawn = iter(["-9abcdefgh" + "x" * 33, "A9abcdefgh" + "x" * 33])
    monkeypatch.setattr(keys.secrets, "token_urlsafe", lambda n: next(drawn))
    raw = keys.new_raw_key()
    assert raw == keys.KEY_PREFIX + "A9abcdefgh" + "x" * 33

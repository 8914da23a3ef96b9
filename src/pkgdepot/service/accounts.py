"""Users, passwords, login tokens and credential checks."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from pkgdepot.domain import bodies
from pkgdepot.domain.models import User
from pkgdepot.domain.names import check_user_or_index_name, short_repr
from pkgdepot.domain.permissions import ROOT, Identity, Policy
from pkgdepot.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from pkgdepot.service.clock import iso_seconds, now
from pkgdepot.storage.meta import MetaStore

if TYPE_CHECKING:
    import argon2

USER_KEYS = bodies.keys_of(bodies.UserFields)
UNKNOWN_KEYS = "Unknown keys in user config"
CREDENTIAL_CACHE_SECONDS = 60.0
CREDENTIAL_CACHE_SIZE = 1024
# devpi-server before 5.0: sha256(salt + password), kept from a devpi export until first login
LEGACY_SHA256_PREFIX = "devpi-sha256$"
# argon2id with OWASP's least-memory configuration (7 MiB, 5 passes, 1 lane; it lists it as
# equivalent to 19 MiB with 2 passes) rather than the library's default (64 MiB, 3 passes,
# 4 lanes), which doubled the server's memory at each first login.
# A hash records its own parameters: older ones still verify and are replaced at a login.
ARGON2_MEMORY_KIB = 7 * 1024
ARGON2_TIME_COST = 5
ARGON2_PARALLELISM = 1


def password_hasher() -> argon2.PasswordHasher:
    import argon2  # only where passwords are hashed or checked: not every process does

    return argon2.PasswordHasher(
        time_cost=ARGON2_TIME_COST,
        memory_cost=ARGON2_MEMORY_KIB,
        parallelism=ARGON2_PARALLELISM,
    )


def legacy_sha256_matches(pwhash: str, password: str) -> bool:
    """``devpi-sha256$<salt>$<hexdigest>``: devpi's salted SHA-256 of the password."""
    salt, _, digest = pwhash.removeprefix(LEGACY_SHA256_PREFIX).rpartition("$")
    try:
        actual = hashlib.sha256(salt.encode("ascii") + password.encode("utf-8")).hexdigest()
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(actual, digest.lower())


def stored_problems(user: User) -> dict[str, str]:
    """The stored fields today's rules refuse, each with why."""
    return bodies.invalid_fields(bodies.UserFields, user.config)


def user_view(user: User, indexes: Mapping[str, Any]) -> dict[str, Any]:
    """``userconfig`` as devpi shows it: never the password hash, and no stored field that
    today's rules refuse (so one user's data cannot break the answers about every user)."""
    view: dict[str, Any] = {"username": user.name}
    problems = stored_problems(user)
    view.update({k: v for k, v in user.config.items() if k in USER_KEYS and k not in problems})
    view.update(created=user.created, modified=user.modified, indexes=dict(indexes))
    return view


class Accounts:
    def __init__(self, store: MetaStore, secret: bytes, token_expiry: int, policy: Policy) -> None:
        self._store = store
        self._secret = secret
        self.token_expiry = token_expiry
        self.policy = policy
        self._hasher_made: argon2.PasswordHasher | None = None
        self._tokens = URLSafeTimedSerializer(secret, salt="pkgdepot-login-token")
        # keyed hash of "user:password" -> (pwhash it was checked against, expiry time)
        self._verified: dict[bytes, tuple[str, float]] = {}

    # passwords and tokens

    @property
    def _hasher(self) -> argon2.PasswordHasher:
        if self._hasher_made is None:
            self._hasher_made = password_hasher()
        return self._hasher_made

    def hash_password(self, password: str) -> str:
        return self._hasher.hash(password)

    def _pw_fingerprint(self, pwhash: str | None) -> str:
        return hmac.new(self._secret, (pwhash or "").encode(), hashlib.sha256).hexdigest()[:16]

    def issue_token(self, user: User) -> str:
        return self._tokens.dumps([user.name, self._pw_fingerprint(user.pwhash)])

    def _check_token(self, user: User, secret: str) -> bool | None:
        """Whether ``secret`` is a live token of ``user``; None if it is no token of ours."""
        try:
            payload = self._tokens.loads(secret, max_age=self.token_expiry)
        except SignatureExpired:
            return False  # ours, but too old
        except BadData:  # a bad signature: not a token, maybe a password
            return None
        return isinstance(payload, list) and payload == [
            user.name,
            self._pw_fingerprint(user.pwhash),
        ]

    def _check_password(self, user: User, password: str) -> bool:
        if not user.pwhash:
            return False
        if user.pwhash.startswith(LEGACY_SHA256_PREFIX):
            if not legacy_sha256_matches(user.pwhash, password):
                return False
            self._rehash(user, password)
            return True
        key = hmac.new(self._secret, f"{user.name}:{password}".encode(), hashlib.sha256).digest()
        cached = self._verified.get(key)
        if cached is not None and cached[0] == user.pwhash and cached[1] > time.monotonic():
            return True
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            self._hasher.verify(user.pwhash, password)
        except (VerificationError, InvalidHashError):
            return False
        if self._hasher.check_needs_rehash(user.pwhash):
            self._rehash(user, password)
            return True  # not cached: the stored hash is a new one now
        if len(self._verified) >= CREDENTIAL_CACHE_SIZE:
            self._verified.clear()
        self._verified[key] = (user.pwhash, time.monotonic() + CREDENTIAL_CACHE_SECONDS)
        return True

    def _rehash(self, user: User, password: str) -> None:
        """Replace a legacy hash, or an argon2 hash made with other parameters, by one made
        with ours, unless the password changed meanwhile."""
        pwhash = self.hash_password(password)
        with self._store.transaction(user.name) as tx:
            current = self._store.get_user(user.name)  # the write lock is held: up to date
            if current is not None and current.pwhash == user.pwhash:
                tx.put_user(dataclasses.replace(current, pwhash=pwhash))

    def authenticate(self, username: str, secret: str) -> Identity | None:
        """A token or a password; None if neither is valid."""
        user = self._store.get_user(username)
        if user is None:
            return None
        valid = self._check_token(user, secret)
        if valid is None:
            valid = self._check_password(user, secret)  # slow on purpose: only if no token
        return Identity(user.name) if valid else None

    def is_token_of_a_deleted_user(self, username: str, secret: str) -> bool:
        """Whether ``secret`` is a token this server issued to ``username``, who no longer
        exists. devpi answers such a request as an anonymous one: a client that deleted its
        own user still holds the token."""
        if self._store.get_user(username) is not None:
            return False
        try:
            payload = self._tokens.loads(secret)  # expired or not: the user is gone anyway
        except BadData:
            return False
        return isinstance(payload, list) and payload[:1] == [username]

    def login(self, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            given = bodies.validate(bodies.Login, body, "unexpected keys")
        except InvalidInput as error:
            raise InvalidInput(f"login needs 'user' and 'password' strings: {error}") from None
        username, password = given.user, given.password
        user = self._store.get_user(username)
        if user is None or not self._check_password(user, password):
            raise Unauthorized(f"user {short_repr(username)} could not be authenticated")
        user = self._store.get_user(username) or user  # a legacy hash was just replaced
        return {"password": self.issue_token(user), "expiration": self.token_expiry}

    # users

    def get(self, name: str) -> User:
        user = self._store.get_user(name)
        if user is None:
            raise NotFound(f"no user {short_repr(name)}")
        return user

    @staticmethod
    def _merged(config: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
        merged = dict(config)
        for key, value in fields.items():
            if value is None or value == "":
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def create(self, who: Identity, name: str, body: Mapping[str, Any]) -> User:
        check_user_or_index_name(name, "user")
        if not self.policy.may_create_user(who):
            raise Forbidden("no permission to create users")
        given = bodies.validate(bodies.UserCreate, body, UNKNOWN_KEYS).given()
        password = given.pop("password", None)
        pwhash = given.pop("pwhash", None)
        config = self._merged({}, given)
        if password == "":
            raise InvalidInput("password must be a non-empty string")
        if password is None and pwhash is None:
            raise InvalidInput("password needs to be set")
        if pwhash is not None and not pwhash.startswith("$argon2"):
            raise InvalidInput("pwhash must be an argon2 hash")
        stamp = iso_seconds(now())
        user = User(
            name=name,
            pwhash=self.hash_password(password) if password is not None else pwhash,
            config=config,
            created=stamp,
            modified=stamp,
        )
        with self._store.transaction(who.user) as tx:
            if tx.has_user(name):
                raise Conflict(f"user {name!r} already exists")
            tx.put_user(user)
        return user

    def modify(self, who: Identity, name: str, body: Mapping[str, Any]) -> str | None:
        """Apply a PATCH; returns a fresh token when the password changed."""
        user = self.get(name)
        only_password = set(body) == {"password"}
        allowed = (
            self.policy.may_change_password(who, name)
            if only_password
            else self.policy.may_modify_user(who, name)
        )
        if not allowed:
            raise Forbidden(f"no permission to modify user {name!r}")
        given = bodies.validate(bodies.UserModify, body, UNKNOWN_KEYS).given()
        password = given.pop("password", None)
        problems = stored_problems(user)
        stored = {k: v for k, v in user.config.items() if k not in problems}
        config = self._merged(stored, given)
        pwhash = user.pwhash
        if password is not None:
            if not password:
                raise InvalidInput("password must be a non-empty string")
            pwhash = self.hash_password(password)
        updated = User(name, pwhash, config, user.created, iso_seconds(now()))
        with self._store.transaction(who.user) as tx:
            tx.put_user(updated)
        return self.issue_token(updated) if password is not None else None

    def delete(self, who: Identity, name: str) -> None:
        self.get(name)
        if name == ROOT:
            raise Forbidden("root user cannot be deleted")
        if not self.policy.may_delete_user(who, name):
            raise Forbidden(f"no permission to delete user {name!r}")
        owned = [i for i in self._store.all_indexes().values() if i.user == name]
        frozen = [i.path for i in owned if not i.volatile]
        if frozen:
            raise Forbidden(
                f"user {name!r} has non-volatile indexes, cannot delete: {', '.join(frozen)}"
            )
        with self._store.transaction(who.user) as tx:
            tx.delete_user(name)

"""Staff accounts, their sessions and the audit log, kept in the SQLite database.

Passwords are hashed with Argon2id in worker threads of their own: a hash takes tens
of milliseconds of CPU and must not hold up the pages, and a flood of logins must not
take the default thread pool that serves visitors' files. A session cookie is a random
token; the database keeps only its SHA-256, so a copied table logs no one in.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import aiosqlite
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tour.core.errors import TourError
from tour.staff.database import StaffDatabase
from tour.staff.words import STAFF_LANGUAGES

ROLES = ("editor", "publisher", "admin")
"""Each role may do everything the one before it may."""
NAME_PATTERN = re.compile(r"[a-z0-9._-]{1,32}")
PASSWORD_MIN = 10
PASSWORD_MAX = 1024
SESSION_SECONDS = 12 * 3600
COMMAND_LINE = "tour staff"
"""Who the audit log names for changes made with the `tour staff` command."""

_hasher = PasswordHasher()  # argon2-cffi's defaults are Argon2id (RFC 9106 low-memory)


@functools.cache
def _dummy_hash() -> str:
    """Checked when a name does not exist, so a wrong name takes as long as a wrong password.

    Made on first use, not at import: one Argon2 hash is a fifth of a second that every
    `tour` command and every start of the server would otherwise spend.
    """
    return _hasher.hash(secrets.token_urlsafe(16))


P = ParamSpec("P")
R = TypeVar("R")
HASHING_THREADS = 2
"""Password hashes computed at once; more wait their turn, away from the default pool."""
_hashing = ThreadPoolExecutor(max_workers=HASHING_THREADS, thread_name_prefix="password-hash")


LOGIN_CHECKS_WAITING = 6
"""Login checks that may wait for a hashing thread. Past them a login is refused at once
(LoginsBusy, a 429): a flood of wrong logins from many addresses must not queue hashes
ahead of a real one (unbounded, 200 at once made a real login wait 33 s on the 2-core
test machine). An Argon2 check takes 0.05-0.2 s: six waiting on two threads are
three rounds, under a second."""


class LoginsBusy(TourError):
    """Too many login checks are running or waiting; the login is refused without one."""


class _LoginChecks:
    """How many login checks hold or wait for a hashing thread; at most HASHING_THREADS +
    LOGIN_CHECKS_WAITING."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        # Taken before the first await, so logins arriving at once cannot all pass the look.
        if self.count >= HASHING_THREADS + LOGIN_CHECKS_WAITING:
            raise LoginsBusy("too many logins are being checked; try again in a moment")
        self.count += 1
        try:
            yield
        finally:
            self.count -= 1


login_checks = _LoginChecks()


async def _in_hashing_thread(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run an Argon2 hash or check in one of the password threads."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_hashing, functools.partial(function, *args, **kwargs))


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: str
    lang: str
    created: float


@dataclass(frozen=True, slots=True)
class Session:
    account: Account
    csrf: str
    expires: float


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    who: str
    action: str
    detail: str


class AccountError(TourError):
    """A staff name, role or password that cannot be used; the message says how to fix it.

    `key` and `values` let the staff pages say the same in the person's language
    (the words `account_error_<key>` in tour/staff/words/common.toml).
    """

    def __init__(self, message: str, key: str, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


def role_allows(role: str, needed: str) -> bool:
    """Say whether someone with `role` may do what `needed` may (unknown roles may nothing)."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise AccountError(
            f"name '{name}' is not allowed: use 1-32 characters from a-z, 0-9, '.', '_' and '-'",
            "name_invalid",
            name=name,
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(
            f"role '{role}' does not exist: choose {', '.join(ROLES)}", "role_unknown", role=role
        )
    return role


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise AccountError(
            f"the password has {len(password)} characters; use at least {PASSWORD_MIN}",
            "password_short",
            count=len(password),
        )
    if len(password) > PASSWORD_MAX:
        raise AccountError(
            f"the password has {len(password)} characters; use at most {PASSWORD_MAX}",
            "password_long",
            count=len(password),
        )
    return password


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _account(row: aiosqlite.Row | tuple[object, ...]) -> Account:
    name, role, lang, created = row[0], row[1], row[2], row[3]
    return Account(str(name), str(role), str(lang), float(created))  # type: ignore[arg-type]


async def any_account(db: StaffDatabase) -> bool:
    rows = await db.fetch_all("SELECT 1 FROM staff LIMIT 1")
    return bool(rows)


async def list_accounts(db: StaffDatabase) -> list[Account]:
    rows = await db.fetch_all("SELECT name, role, lang, created FROM staff ORDER BY name")
    return [_account(row) for row in rows]


async def record_in(connection: aiosqlite.Connection, who: str, action: str, detail: str) -> None:
    """Add a line to the audit log inside the caller's transaction: the change and its line
    are written together, or neither."""
    await connection.execute(
        "INSERT INTO audit (at, who, action, detail) VALUES (?, ?, ?, ?)",
        (time.time(), who, action, detail),
    )


async def _role_of(connection: aiosqlite.Connection, name: str) -> str:
    cursor = await connection.execute("SELECT role FROM staff WHERE name = ?", (name,))
    row = await cursor.fetchone()
    await cursor.close()
    if row is None:
        raise AccountError(
            f"there is no account named '{name}'; 'tour staff list' shows them",
            "no_account",
            name=name,
        )
    return str(row[0])


async def _admin_count(connection: aiosqlite.Connection) -> int:
    cursor = await connection.execute("SELECT count(*) FROM staff WHERE role = 'admin'")
    row = await cursor.fetchone()
    await cursor.close()
    return int(row[0]) if row else 0


async def add_account(
    db: StaffDatabase, name: str, role: str, password: str, who: str, lang: str = "id"
) -> Account:
    check_name(name)
    check_role(role)
    check_password(password)
    password_hash = await _in_hashing_thread(_hasher.hash, password)
    account = Account(name, role, lang, time.time())
    async with db.transaction() as connection:
        cursor = await connection.execute("SELECT 1 FROM staff WHERE name = ?", (name,))
        taken = await cursor.fetchone()
        await cursor.close()
        if taken:
            raise AccountError(
                f"an account named '{name}' exists already; choose another name",
                "name_taken",
                name=name,
            )
        await connection.execute(
            "INSERT INTO staff (name, role, password_hash, lang, created) VALUES (?, ?, ?, ?, ?)",
            (name, role, password_hash, lang, account.created),
        )
        await record_in(connection, who, "account-add", f"{name} ({role})")
    return account


async def set_password(db: StaffDatabase, name: str, password: str, who: str) -> None:
    """Change the password and end every session of that person."""
    check_password(password)
    password_hash = await _in_hashing_thread(_hasher.hash, password)
    async with db.transaction() as connection:
        await _role_of(connection, name)
        await connection.execute(
            "UPDATE staff SET password_hash = ? WHERE name = ?", (password_hash, name)
        )
        await connection.execute("DELETE FROM sessions WHERE name = ?", (name,))
        await record_in(connection, who, "account-password", name)


async def set_role(db: StaffDatabase, name: str, role: str, who: str) -> None:
    check_role(role)
    async with db.transaction() as connection:
        old = await _role_of(connection, name)
        if old == role:
            return
        if old == "admin" and await _admin_count(connection) == 1:
            raise AccountError(
                f"'{name}' is the last admin; make another account admin first",
                "last_admin_role",
                name=name,
            )
        await connection.execute("UPDATE staff SET role = ? WHERE name = ?", (role, name))
        await record_in(connection, who, "account-role", f"{name}: {old} → {role}")


async def set_language(db: StaffDatabase, name: str, lang: str) -> None:
    if lang not in STAFF_LANGUAGES:
        raise AccountError(
            f"language '{lang}' is not offered; choose {', '.join(STAFF_LANGUAGES)}",
            "language_unknown",
            lang=lang,
        )
    async with db.transaction() as connection:
        await _role_of(connection, name)
        await connection.execute("UPDATE staff SET lang = ? WHERE name = ?", (lang, name))


async def remove_account(db: StaffDatabase, name: str, who: str) -> None:
    """Remove the account and (by the foreign key) its sessions; never the last admin."""
    async with db.transaction() as connection:
        role = await _role_of(connection, name)
        if role == "admin" and await _admin_count(connection) == 1:
            raise AccountError(
                f"'{name}' is the last admin and cannot be removed; add another admin first",
                "last_admin_remove",
                name=name,
            )
        await connection.execute("DELETE FROM staff WHERE name = ?", (name,))
        await record_in(connection, who, "account-remove", f"{name} ({role})")


def _verify(stored: str | None, password: str) -> tuple[bool, bool]:
    """(the password matches, the hash should be redone with today's parameters)."""
    try:
        _hasher.verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False, False
    return stored is not None, stored is not None and _hasher.check_needs_rehash(stored)


async def verify_login(db: StaffDatabase, name: str, password: str) -> Account | None:
    """Return the account when name and password match; None otherwise, in the same time.

    Raises LoginsBusy at once when the hashing threads have too many checks to do.
    """
    with login_checks.slot():
        return await _verify_login(db, name, password)


async def _verify_login(db: StaffDatabase, name: str, password: str) -> Account | None:
    rows: list[aiosqlite.Row] = []
    if NAME_PATTERN.fullmatch(name) and len(password) <= PASSWORD_MAX:
        rows = await db.fetch_all(
            "SELECT name, role, lang, created, password_hash FROM staff WHERE name = ?", (name,)
        )
    stored = str(rows[0][4]) if rows else None
    matches, stale = await _in_hashing_thread(_verify, stored, password[:PASSWORD_MAX])
    if not matches:
        return None
    if stale:
        new_hash = await _in_hashing_thread(_hasher.hash, password)
        async with db.transaction() as connection:
            await connection.execute(
                "UPDATE staff SET password_hash = ? WHERE name = ? AND password_hash = ?",
                (new_hash, name, stored),
            )
    return _account(rows[0])


async def start_session(db: StaffDatabase, account: Account, now: float) -> tuple[str, Session]:
    """Start a session; return the cookie value (kept only as a hash) and the session."""
    token = secrets.token_urlsafe(32)
    session = Session(account, secrets.token_urlsafe(32), now + SESSION_SECONDS)
    async with db.transaction() as connection:
        # Expired sessions go whenever someone logs in: the table stays small.
        await connection.execute("DELETE FROM sessions WHERE expires <= ?", (now,))
        await connection.execute(
            "INSERT INTO sessions (token_hash, name, csrf, created, expires) "
            "VALUES (?, ?, ?, ?, ?)",
            (token_hash(token), account.name, session.csrf, now, session.expires),
        )
    return token, session


async def find_session(db: StaffDatabase, token: str, now: float) -> Session | None:
    if not token:
        return None
    rows = await db.fetch_all(
        "SELECT staff.name, staff.role, staff.lang, staff.created, sessions.csrf, "
        "sessions.expires FROM sessions JOIN staff ON staff.name = sessions.name "
        "WHERE sessions.token_hash = ? AND sessions.expires > ?",
        (token_hash(token), now),
    )
    if not rows:
        return None
    row = rows[0]
    return Session(_account(row), str(row[4]), float(row[5]))


async def end_session(db: StaffDatabase, token: str) -> None:
    async with db.transaction() as connection:
        await connection.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash(token),))


async def record(db: StaffDatabase, who: str, action: str, detail: str = "") -> None:
    """Add a line to the audit log: who did what, and now."""
    async with db.transaction() as connection:
        await record_in(connection, who, action, detail)


async def audit_log(db: StaffDatabase, limit: int = 200) -> list[AuditEntry]:
    """The newest `limit` entries of the audit log, newest first."""
    rows = await db.fetch_all(
        "SELECT at, who, action, detail FROM audit ORDER BY at DESC, id DESC LIMIT ?", (limit,)
    )
    return [AuditEntry(float(row[0]), str(row[1]), str(row[2]), str(row[3])) for row in rows]

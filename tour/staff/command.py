"""What `tour staff add|list|passwd|remove` does, apart from reading the command line."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from tour.staff.accounts import (
    COMMAND_LINE,
    Account,
    AccountError,
    add_account,
    any_account,
    list_accounts,
    remove_account,
    set_password,
)
from tour.staff.database import StaffDatabase
from tour.staff.dates import format_moment

FIRST_ADMIN_HINT = "Create the first admin with: tour staff add NAME --role admin"


def read_password() -> str:
    """Ask twice on a terminal; read one line from standard input otherwise (for scripts)."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise AccountError("the two passwords differ; run the command again")
        return first
    line = sys.stdin.readline()
    if not line:
        raise AccountError("no password on standard input; give it as one line")
    return line.removesuffix("\n").removesuffix("\r")


def account_lines(accounts: list[Account], zone: ZoneInfo) -> list[str]:
    """One line per account: name, role, staff language, created (in the tour's zone)."""
    if not accounts:
        return [f"No staff accounts yet. {FIRST_ADMIN_HINT}"]
    width = max(len(account.name) for account in accounts)
    return [
        f"{account.name:<{width}}  {account.role:<9}  {account.lang}  "
        f"{format_moment(account.created, zone, 'en')}"
        for account in accounts
    ]


async def staff_exists(db_path: Path) -> bool:
    async with StaffDatabase(db_path) as db:
        return await any_account(db)


async def staff_command(
    db_path: Path, command: str, name: str, role: str, password: str, zone: ZoneInfo
) -> list[str]:
    """Run one `tour staff` action, recorded as 'tour staff'; return the lines to print."""
    async with StaffDatabase(db_path) as db:
        return await _run(db, command, name, role, password, zone)


async def _run(
    db: StaffDatabase, command: str, name: str, role: str, password: str, zone: ZoneInfo
) -> list[str]:
    if command == "add":
        account = await add_account(db, name, role, password, COMMAND_LINE)
        return [f"added {account.name} ({account.role})"]
    if command == "passwd":
        await set_password(db, name, password, COMMAND_LINE)
        return [f"new password for {name}; their sessions have ended"]
    if command == "remove":
        await remove_account(db, name, COMMAND_LINE)
        return [f"removed {name}; their sessions have ended"]
    return account_lines(await list_accounts(db), zone)

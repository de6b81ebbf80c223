"""The admin's pages: staff accounts (/admin/accounts) and the audit log (/admin/audit)."""

from __future__ import annotations

from aiohttp import web

from tour.staff.accounts import (
    ROLES,
    AccountError,
    add_account,
    audit_log,
    list_accounts,
    remove_account,
    set_password,
    set_role,
)
from tour.web.keys import staff_db_key
from tour.web.studio.auth import (
    StaffContext,
    form_key,
    render_staff,
    staff_key,
)


async def accounts_page(
    request: web.Request,
    staff: StaffContext,
    message: str = "",
    status: int = 200,
    typed_name: str = "",
    typed_role: str = "editor",
) -> web.Response:
    return render_staff(
        request,
        staff,
        "accounts.html",
        status=status,
        accounts=await list_accounts(request.app[staff_db_key]),
        roles=ROLES,
        message=message,
        typed_name=typed_name,
        typed_role=typed_role,
    )


async def accounts(request: web.Request) -> web.Response:
    staff = request[staff_key]
    return await accounts_page(request, staff)


async def change_accounts(request: web.Request) -> web.Response:
    """Add, change or remove an account; a refusal shows the page again with its reason."""
    staff, form = request[staff_key], request[form_key]
    db = request.app[staff_db_key]
    action = form.get("action", "")
    name = form.get("name", "").strip()
    who = staff.account.name
    try:
        if action == "add":
            await add_account(db, name, form.get("role", ""), form.get("password", ""), who)
        elif action == "role":
            await set_role(db, name, form.get("role", ""), who)
        elif action == "password":
            await set_password(db, name, form.get("password", ""), who)
        elif action == "remove":
            await remove_account(db, name, who)
        else:
            raise AccountError(f"action '{action}' is not known", "action_unknown", action=action)
    except AccountError as error:
        message = staff.words[f"account_error_{error.key}"].format(**error.values)
        # What was typed comes back, except the password, which is never put in a page.
        if action == "add":
            role = form.get("role", "editor")
            return await accounts_page(request, staff, message, 400, name, role)
        return await accounts_page(request, staff, message, 400)
    if name == who and action in ("password", "remove"):
        raise web.HTTPSeeOther("/admin/login")  # their own sessions have just ended
    raise web.HTTPSeeOther("/admin/accounts")


async def audit(request: web.Request) -> web.Response:
    staff = request[staff_key]
    entries = await audit_log(request.app[staff_db_key])
    return render_staff(request, staff, "audit.html", entries=entries)

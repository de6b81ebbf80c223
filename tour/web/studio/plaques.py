"""Plaques from the browser: the print check for each stop, then the PDF as a download.

The page runs the same check as `tour plaques` (QR version, printed module size, the
distance a phone scans from) and the same refusal of placeholder and local addresses,
so a plaque that would lead nowhere is never printed from here either.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from tour.core.errors import TourError
from tour.core.model import Tour
from tour.printing.qr import local_address_reason
from tour.staff.accounts import record, role_allows
from tour.web.keys import site_key, staff_db_key
from tour.web.studio.auth import (
    StaffContext,
    form_key,
    render_staff,
    staff_key,
)

if TYPE_CHECKING:
    from tour.printing.plaques import PrintCheck

PLAQUE_SIZES = ("a6", "a5", "a4")
"""The page sizes tour.plaques draws, smallest first (PAGE_SIZES without loading reportlab)."""
DEFAULT_SIZE = "a6"
ALL_STOPS = "all"


@dataclass(frozen=True, slots=True)
class PrintPlan:
    """The print check at one size, and why printing is refused (empty when it is not)."""

    size: str
    checks: tuple[PrintCheck, ...]
    refusal: str


def local_refusal(tour: Tour, staff: StaffContext) -> str:
    """Say, in the person's language, why the tour's address cannot go on a plaque."""
    reason = local_address_reason(tour.base_url)
    if reason is None:
        return ""
    return staff.words["plaques_local"].format(base=tour.base_url, reason=reason)


def check_print(tour: Tour, size: str) -> tuple[PrintCheck, ...]:
    """Run the print check of every stop (in a worker thread: it draws every QR code)."""
    # reportlab is large: the server loads it only when staff look at plaques.
    from tour.printing.plaques import check_plaques

    # The local address is refused by the caller, in the person's language; the
    # measurements are still shown, so staff see what a public address would print.
    _, _, checks = check_plaques(tour, tour.base_url, size, allow_local=True)
    return tuple(checks)


def draw_pdf(tour: Tour, size: str, stop_id: str) -> bytes:
    """Draw the plaque of one stop, or every plaque and the index sheet for "all"."""
    from tour.printing.plaques import check_plaques, draw_plaques

    maker, codes, _ = check_plaques(tour, tour.base_url, size)
    if stop_id == ALL_STOPS:
        return draw_plaques(tour, maker, codes)[0]
    chosen = [(stop, qr) for stop, qr in codes if stop.id == stop_id]
    return draw_plaques(tour, maker, chosen, index=False)[0]


async def print_plan(tour: Tour, staff: StaffContext, size: str) -> PrintPlan:
    try:
        checks = await asyncio.to_thread(check_print, tour, size)
    except TourError as error:  # a code too long for the QR version, a glyph no font has
        return PrintPlan(size, (), staff.words["plaques_refused"].format(reason=error))
    return PrintPlan(size, checks, local_refusal(tour, staff))


async def plaques_response(
    request: web.Request,
    staff: StaffContext,
    size: str,
    *,
    message: str = "",
    status: int = 200,
) -> web.Response:
    tour = request.app[site_key].current.tour
    plan = await print_plan(tour, staff, size)
    return render_staff(
        request,
        staff,
        "plaques.html",
        status=status,
        tour=tour,
        plan=plan,
        sizes=PLAQUE_SIZES,
        message=message,
        can_download=role_allows(staff.account.role, "publisher"),
    )


async def plaques_page(request: web.Request) -> web.Response:
    staff = request[staff_key]
    size = request.query.get("size", DEFAULT_SIZE)
    if size not in PLAQUE_SIZES:
        message = staff.words["plaques_unknown_size"].format(size=size)
        return await plaques_response(request, staff, DEFAULT_SIZE, message=message, status=400)
    return await plaques_response(request, staff, size)


async def plaques_pdf(request: web.Request) -> web.Response:
    staff, form = request[staff_key], request[form_key]
    tour = request.app[site_key].current.tour
    stop_id = form.get("stop", "")
    size = form.get("size", "")
    if size not in PLAQUE_SIZES:
        message = staff.words["plaques_unknown_size"].format(size=size)
        return await plaques_response(request, staff, DEFAULT_SIZE, message=message, status=400)
    if stop_id != ALL_STOPS and tour.stop_by_id(stop_id) is None:
        message = staff.words["plaques_unknown_stop"].format(stop=stop_id)
        return await plaques_response(request, staff, size, message=message, status=400)
    refusal = local_refusal(tour, staff)
    if refusal:
        return await plaques_response(request, staff, size, message=refusal, status=409)
    try:
        pdf = await asyncio.to_thread(draw_pdf, tour, size, stop_id)
    except TourError as error:
        message = staff.words["plaques_refused"].format(reason=error)
        return await plaques_response(request, staff, size, message=message, status=409)
    # The audit log is read in either language: its detail is the form's own values.
    await record(request.app[staff_db_key], staff.account.name, "plaques", f"{stop_id} {size}")
    response = web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="plaques-{stop_id}.pdf"'},
    )
    # A staff answer like any other: the security headers, the staff CSP, never cached.
    return response

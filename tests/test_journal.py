"""The studio's journal: every partial state a crash can leave is rolled forward, once."""

from __future__ import annotations

import errno
import json
import logging
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from tour.catalog import TOUR_FILE, check_tour, load_tour
from tour.core.files import write_atomically
from tour.staff import editing
from tour.staff.editing import WriteError, file_hash, write_files
from tour.staff.journal import (
    JOURNAL_FILE,
    JOURNAL_MODE,
    Change,
    apply_change,
    read_journal,
    replay_files,
    write_journal,
)
from tour.staff.last_good import keep_last_good
from tour.staff.walk import with_stop_retired


def retire_beta(stops: Path) -> Change:
    """The change the walk page makes to retire beta: tour.toml, retired/beta.toml, -beta."""
    tour_text = (stops / TOUR_FILE).read_text("utf-8")
    beta = (stops / "beta.toml").read_text("utf-8")
    return Change(
        texts={TOUR_FILE: with_stop_retired(tour_text, "beta", "beta"), "retired/beta.toml": beta},
        bases={
            TOUR_FILE: file_hash(tour_text),
            "retired/beta.toml": "",
            "beta.toml": file_hash(beta),
        },
        remove=["beta.toml"],
        who="rina",
        kind="retire",
        note="closed for repairs",
    )


def snapshot(stops: Path) -> dict[str, bytes]:
    """Every stop file, retired/ included (not the journal, the lock or temporary files)."""
    return {
        str(path.relative_to(stops)): path.read_bytes()
        for path in sorted(stops.rglob("*.toml"))
        if not path.name.startswith(".")
    }


def after(stops: Path, change: Change) -> dict[str, bytes]:
    """What the stops folder holds once `change` is applied."""
    files = snapshot(stops)
    for name in change.remove:
        files.pop(name)
    return files | {name: text.encode("utf-8") for name, text in change.texts.items()}


def test_the_journal_alone_is_rolled_forward_and_kept_for_the_history(small_tour: Path) -> None:
    change = retire_beta(small_tour)
    expected = after(small_tour, change)
    write_journal(small_tour, change)  # killed right after the journal's rename
    replayed = replay_files(small_tour)
    assert replayed == change
    assert snapshot(small_tour) == expected
    assert load_tour(small_tour).stop_by_id("beta") is None
    # Its revisions are not recorded yet: the journal stays for changes.finish_pending.
    assert read_journal(small_tour) == replace(change, applied=True)


@pytest.mark.parametrize("written", [1, 2])
def test_some_files_written_are_completed(small_tour: Path, written: int) -> None:
    change = retire_beta(small_tour)
    expected = after(small_tour, change)
    write_journal(small_tour, change)
    (small_tour / "retired").mkdir()
    for name in list(change.texts)[:written]:  # killed after `written` renames
        write_atomically(small_tour / name, change.texts[name].encode("utf-8"))
    _, problems = check_tour(small_tour)
    assert problems, "the half-applied retire must be what `tour check` refuses"
    replay_files(small_tour)
    assert snapshot(small_tour) == expected
    load_tour(small_tour)


def test_all_written_with_the_journal_still_there_changes_nothing(small_tour: Path) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)
    assert apply_change(small_tour, change) == [TOUR_FILE, "retired/beta.toml", "beta.toml"]
    done = snapshot(small_tour)
    stamps = {name: (small_tour / name).stat().st_mtime_ns for name in done}
    assert apply_change(small_tour, change) == []  # replayed twice: idempotent
    assert replay_files(small_tour) == change
    assert snapshot(small_tour) == done
    assert {name: (small_tour / name).stat().st_mtime_ns for name in done} == stamps


def test_a_file_edited_by_hand_after_the_change_is_kept(
    small_tour: Path, caplog: pytest.LogCaptureFixture
) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)
    apply_change(small_tour, change)
    hand = (small_tour / TOUR_FILE).read_text("utf-8") + "# a hand edit\n"
    (small_tour / TOUR_FILE).write_text(hand, "utf-8")
    with caplog.at_level(logging.WARNING, "tour.staff.journal"):
        assert apply_change(small_tour, change) == []
    assert (small_tour / TOUR_FILE).read_text("utf-8") == hand
    assert f"tour.toml changed by hand since the studio change {change.id}: kept" in caplog.text


def test_a_torn_journal_is_ignored_because_its_rename_never_happened(small_tour: Path) -> None:
    before = snapshot(small_tour)
    change = retire_beta(small_tour)
    data = json.dumps({"texts": dict(change.texts)}).encode("utf-8")
    # Killed while the journal was being written: only its temporary file exists.
    (small_tour / f".{JOURNAL_FILE}.x1y2z3.tmp").write_bytes(data[: len(data) // 2])
    assert read_journal(small_tour) is None
    assert replay_files(small_tour) is None
    assert snapshot(small_tour) == before
    # The next write clears the leftover with its own journal.
    tour_text = (small_tour / TOUR_FILE).read_text("utf-8")
    write_files(small_tour, {TOUR_FILE: tour_text + "# x\n"}, {TOUR_FILE: file_hash(tour_text)})
    assert sorted(p.name for p in small_tour.iterdir() if p.name.startswith(".")) == [
        ".studio.lock"
    ]


def test_an_unreadable_journal_is_moved_aside_and_nothing_replayed(
    small_tour: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = snapshot(small_tour)
    (small_tour / JOURNAL_FILE).write_text('{"texts": {"../x.toml": "x"}}', "utf-8")
    with caplog.at_level(logging.ERROR, "tour.staff.journal"):
        assert replay_files(small_tour) is None
    assert snapshot(small_tour) == before
    assert not (small_tour / JOURNAL_FILE).exists()
    assert (small_tour / f"{JOURNAL_FILE}.unreadable").exists()
    assert "nothing replayed" in caplog.text


def test_write_files_completes_an_unrecorded_change_and_waits_for_its_history(
    small_tour: Path,
) -> None:
    change = retire_beta(small_tour)
    expected = after(small_tour, change)
    write_journal(small_tour, change)
    alpha = (small_tour / "alpha.toml").read_text("utf-8")
    with pytest.raises(WriteError) as raised:
        write_files(small_tour, {"alpha.toml": "x"}, {"alpha.toml": file_hash(alpha)})
    assert str(raised.value) == (
        "the change before this one is written but not yet in the history: nothing was "
        "changed; reload the stop files on the dashboard, then publish again"
    )
    assert snapshot(small_tour) == expected
    # Its journal stays until the history has it: one journal at a time.
    assert read_journal(small_tour) == replace(change, applied=True)


def test_a_change_with_a_kind_keeps_its_journal_until_it_is_recorded(small_tour: Path) -> None:
    change = retire_beta(small_tour)
    write_files(small_tour, change.texts, change.bases, change.remove, change)
    assert read_journal(small_tour) == replace(change, applied=True)
    assert not (small_tour / "beta.toml").exists()


def test_a_refused_write_puts_back_and_leaves_no_journal(
    small_tour: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(small_tour)
    change = retire_beta(small_tour)
    calls: list[str] = []

    def full_on_second(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        write_atomically(path, data)

    monkeypatch.setattr(editing, "write_atomically", full_on_second)
    with pytest.raises(WriteError, match=r"^the disk is full: nothing was changed"):
        write_files(small_tour, change.texts, change.bases, change.remove, change)
    assert snapshot(small_tour) == before
    assert read_journal(small_tour) is None


def test_a_write_that_cannot_even_be_put_back_is_completed_later(
    small_tour: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    change = retire_beta(small_tour)
    expected = after(small_tour, change)
    calls: list[str] = []

    def fails_after_first(path: Path, data: bytes) -> None:
        calls.append(path.name)
        if len(calls) > 1:
            raise OSError(errno.EIO, "Input/output error")
        write_atomically(path, data)

    monkeypatch.setattr(editing, "write_atomically", fails_after_first)
    with pytest.raises(WriteError):
        write_files(small_tour, change.texts, change.bases, change.remove, change)
    assert calls == [TOUR_FILE, "beta.toml", TOUR_FILE]  # written, refused, put back refused
    assert read_journal(small_tour) == change  # so the change is never left half-done
    monkeypatch.undo()
    replay_files(small_tour)
    assert snapshot(small_tour) == expected


def test_the_journal_and_the_last_good_files_are_the_services_alone(
    small_tour: Path, tmp_path: Path
) -> None:
    write_journal(small_tour, retire_beta(small_tour))
    assert stat.S_IMODE((small_tour / JOURNAL_FILE).stat().st_mode) == JOURNAL_MODE == 0o600
    kept = tmp_path / "tour.sqlite3.last-good.json"
    keep_last_good(kept, small_tour, {TOUR_FILE: "x"})
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_journal_others_could_write_is_not_obeyed(small_tour: Path) -> None:
    before = snapshot(small_tour)
    write_journal(small_tour, retire_beta(small_tour))
    (small_tour / JOURNAL_FILE).chmod(0o664)  # the staff group could have written it
    assert replay_files(small_tour) is None
    assert snapshot(small_tour) == before
    assert (small_tour / f"{JOURNAL_FILE}.unreadable").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", ""), ("id", "../x"), ("kind", "publish; drop"), ("texts", {"alpha.toml": "\ud800"})],
)
def test_a_journal_with_a_malformed_field_is_not_obeyed(
    small_tour: Path, field: str, value: object
) -> None:
    before = snapshot(small_tour)
    write_journal(small_tour, retire_beta(small_tour))
    data = json.loads((small_tour / JOURNAL_FILE).read_text("utf-8"))
    data[field] = value
    if field == "texts":
        data["bases"]["alpha.toml"] = file_hash((small_tour / "alpha.toml").read_text("utf-8"))
    raw = json.dumps(data).encode("utf-8")
    write_atomically(small_tour / JOURNAL_FILE, raw, mode=JOURNAL_MODE)
    assert replay_files(small_tour) is None
    assert snapshot(small_tour) == before


def test_a_journal_never_writes_or_deletes_outside_the_stops_folder(
    small_tour: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.toml").write_text("keep me", "utf-8")
    (small_tour / "v").symlink_to(outside)
    (small_tour / "retired").symlink_to(outside)
    for texts, remove in (
        ({"v/planted.toml": "x"}, ["v/victim.toml"]),
        ({"retired/planted.toml": "x"}, ["retired/victim.toml"]),
    ):
        victim = file_hash("keep me")  # at its base: only the name check can stop it
        change = Change(texts, {name: "" for name in texts} | {remove[0]: victim}, remove)
        data = {
            "version": 1,
            "id": change.id,
            "who": "admin",
            "kind": "publish",
            "note": "",
            "at": change.at,
            "texts": change.texts,
            "bases": change.bases,
            "remove": remove,
        }
        raw = json.dumps(data).encode("utf-8")
        write_atomically(small_tour / JOURNAL_FILE, raw, mode=JOURNAL_MODE)
        assert replay_files(small_tour) is None
        assert sorted(path.name for path in outside.iterdir()) == ["victim.toml"]
        assert (small_tour / f"{JOURNAL_FILE}.unreadable").exists()
        (small_tour / f"{JOURNAL_FILE}.unreadable").unlink()


def test_an_applied_change_is_never_applied_again_over_a_hand_revert(small_tour: Path) -> None:
    base = (small_tour / TOUR_FILE).read_text("utf-8")
    change = replace(
        retire_beta(small_tour), texts={TOUR_FILE: base + "# new\n"}, remove=[],
        bases={TOUR_FILE: file_hash(base)},
    )  # fmt: skip
    write_files(small_tour, change.texts, change.bases, change.remove, change)
    (small_tour / TOUR_FILE).write_text(base, "utf-8")  # undone by hand before it was recorded
    assert replay_files(small_tour) == replace(change, applied=True)
    assert (small_tour / TOUR_FILE).read_text("utf-8") == base


def test_a_change_part_of_which_was_edited_by_hand_is_not_applied_at_all(
    small_tour: Path, caplog: pytest.LogCaptureFixture
) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)  # the power went before any rename
    hand = (small_tour / TOUR_FILE).read_text("utf-8") + "# a hand edit\n"
    (small_tour / TOUR_FILE).write_text(hand, "utf-8")
    before = snapshot(small_tour)
    with caplog.at_level(logging.ERROR, "tour.staff.journal"):
        assert replay_files(small_tour) is None
    assert snapshot(small_tour) == before  # not the new beta files beside the old order
    assert (small_tour / f"{JOURNAL_FILE}.conflict").exists()
    assert "tour.toml changed by hand since" in caplog.text


def test_a_pending_change_the_disk_refuses_is_a_write_error(small_tour: Path) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)
    (small_tour / "retired").write_text("not a folder", "utf-8")
    alpha = (small_tour / "alpha.toml").read_text("utf-8")
    with pytest.raises(WriteError, match=r"\.studio\.journal"):
        write_files(small_tour, {"alpha.toml": "x"}, {"alpha.toml": file_hash(alpha)})


def test_a_whole_change_edited_by_hand_afterwards_is_still_recorded(small_tour: Path) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)
    apply_change(small_tour, change)  # every rename done; killed before the mark
    hand = (small_tour / TOUR_FILE).read_text("utf-8") + "# a hand edit\n"
    (small_tour / TOUR_FILE).write_text(hand, "utf-8")
    assert replay_files(small_tour) == replace(change, applied=True)
    assert (small_tour / TOUR_FILE).read_text("utf-8") == hand


def test_a_half_applied_change_set_aside_names_what_it_wrote(
    small_tour: Path, caplog: pytest.LogCaptureFixture
) -> None:
    change = retire_beta(small_tour)
    write_journal(small_tour, change)
    write_atomically(small_tour / TOUR_FILE, change.texts[TOUR_FILE].encode("utf-8"))
    (small_tour / "beta.toml").write_text("# edited by hand\n", "utf-8")
    with caplog.at_level(logging.ERROR, "tour.staff.journal"):
        assert replay_files(small_tour) is None
    assert "beta.toml changed by hand since (already written by it: tour.toml)" in caplog.text
    assert (small_tour / f"{JOURNAL_FILE}.conflict").exists()

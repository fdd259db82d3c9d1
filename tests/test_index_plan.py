"""The index plan: which files an index run reuses, labels, checks by hash, remembers as bad or drops."""

from __future__ import annotations

from bridge.core.index_plan import plan_index

FOLDER = "/samples"
MODEL = "model-2"


def entry(size: int, mtime_ns: int, *, model: str = MODEL) -> dict:
    return {"size": size, "mtime_ns": mtime_ns, "model_version": model, "pitched": True, "sha256": "ab"}


def skip(size: int, mtime_ns: int, *, retry: bool = False, reason: str = "silent") -> dict:
    return {"size": size, "mtime_ns": mtime_ns, "reason": reason, "model_version": MODEL, "retry": retry}


def stored(samples: dict, skipped: dict | None = None, *, folder: str = FOLDER) -> dict:
    return {"schema": 1, "folder": folder, "model_version": MODEL, "samples": samples, "skipped": skipped or {}}


def test_each_found_file_gets_the_one_step_its_listing_and_the_stored_index_call_for():
    old = stored(
        {"same.wav": entry(10, 1), "touched.wav": entry(10, 1), "old_model.wav": entry(10, 1, model="model-1"),
         "gone.wav": entry(10, 1), "b_gone.wav": entry(5, 5)},
        {"bad.wav": skip(7, 7), "flaky.wav": skip(8, 8, retry=True), "bad_changed.wav": skip(9, 9)},
    )
    found = {"same.wav": (10, 1), "touched.wav": (10, 2), "old_model.wav": (10, 1), "new.wav": (3, 3),
             "bad.wav": (7, 7), "flaky.wav": (8, 8), "bad_changed.wav": (9, 10)}
    plan = plan_index(found, {"locked": "folder not readable"}, old, folder=FOLDER, version=MODEL)
    assert plan.unchanged == {"same.wav": old["samples"]["same.wav"]}
    assert plan.recheck == {"touched.wav": old["samples"]["touched.wav"]}
    assert plan.known_bad == {"bad.wav": old["skipped"]["bad.wav"]}
    assert plan.to_label == ["bad_changed.wav", "flaky.wav", "new.wav", "old_model.wav"]
    assert plan.removed == ["b_gone.wav", "gone.wav"]
    assert plan.failed == {"locked": "folder not readable"}
    assert plan.old_skipped == old["skipped"]


def test_an_index_of_another_folder_or_none_plans_to_label_everything():
    found = {"a.wav": (1, 1), "b.wav": (2, 2)}
    for old in ({}, stored({"a.wav": entry(1, 1)}, {"b.wav": skip(2, 2)}, folder="/elsewhere")):
        plan = plan_index(found, {}, old, folder=FOLDER, version=MODEL)
        assert plan.to_label == ["a.wav", "b.wav"]
        assert not (plan.unchanged or plan.recheck or plan.known_bad or plan.removed or plan.old_skipped)


def test_an_entry_from_before_unpitched_detection_and_an_old_unreadable_skip_are_redone():
    no_pitched = {k: v for k, v in entry(1, 1).items() if k != "pitched"}
    unreadable = {k: v for k, v in skip(2, 2, reason="unreadable (Permission denied)").items() if k != "retry"}
    content = {k: v for k, v in skip(3, 3).items() if k != "retry"}
    old = stored({"a.wav": no_pitched}, {"b.wav": unreadable, "c.wav": content})
    plan = plan_index({"a.wav": (1, 1), "b.wav": (2, 2), "c.wav": (3, 3)}, {}, old, folder=FOLDER, version=MODEL)
    assert plan.to_label == ["a.wav", "b.wav"]
    assert list(plan.known_bad) == ["c.wav"]

"""README.md's "Exit codes" table and the `exit_code` of each class in ganzoo.base.errors are one scheme."""

from __future__ import annotations

import inspect
import re

import ganzoo.base.errors as errors
from conftest import ROOT, run_cli


def readme_table() -> dict[int, list[str]]:
    """code -> the error classes the README names for it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows: dict[int, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows[int(cells[0])] = re.findall(r"`(\w+)`", cells[2])
    return rows


def error_classes() -> dict[str, type[errors.GanzooError]]:
    return {name: cls for name, cls in vars(errors).items()
            if inspect.isclass(cls) and issubclass(cls, errors.GanzooError) and cls.__module__ == errors.__name__}


def test_every_code_in_the_readme_is_the_class_attribute():
    rows = readme_table()
    assert {0, 1, 2, 3, 4, 5, 6, 7, 130, 143} <= set(rows), rows
    for code, names in rows.items():
        for name in names:
            assert getattr(errors, name).exit_code == code, (name, code)


def test_every_error_class_is_in_the_readme_and_the_codes_are_distinct_per_meaning():
    listed = {name for names in readme_table().values() for name in names}
    assert set(error_classes()) <= listed, set(error_classes()) - listed
    # a script can tell these apart: no two of the top-level families share a code
    families = [errors.GanzooError, errors.UsageError, errors.DataError, errors.CheckpointError,
                errors.ComponentError, errors.TrainingError, errors.WriteError]
    assert len({f.exit_code for f in families}) == len(families)


def test_usage_codes_stay_2_under_their_subclasses():
    for cls in error_classes().values():
        if issubclass(cls, errors.UsageError):
            assert cls.exit_code == 2, cls


def test_the_cli_exits_with_the_class_code(tmp_path):
    (tmp_path / "empty").mkdir()
    r = run_cli("run", "--dataset", "cifar10", "--gen", "dcgan", "--set", "dataset.download=false",
                "--set", f"dataset.root={tmp_path / 'empty'}", "--steps", "1", "--out", str(tmp_path / "run"),
                timeout=300)
    assert r.returncode == errors.DataError.exit_code == 3, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: no cifar10 train files")

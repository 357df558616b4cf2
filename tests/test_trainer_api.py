"""The trainer's public seams: the before_step callback, and what was built under ``trainer.parts`` only."""

from __future__ import annotations

import pytest

from conftest import tiny
from ganzoo.training.trainer import Trainer


def test_before_step_sees_every_step_in_order(toy):
    seen: list[int] = []
    trainer = Trainer(tiny(steps=5), progress="quiet", before_step=seen.append)
    trainer.fit()
    assert seen == [1, 2, 3, 4, 5]


def test_before_step_on_resume_starts_after_the_checkpoint(toy):
    Trainer(tiny(steps=3), progress="quiet").fit()
    seen: list[int] = []
    Trainer(tiny(steps=5), progress="quiet", resume=True, before_step=seen.append).fit()
    assert seen == [4, 5]


def test_built_parts_are_not_forwarded_as_trainer_attributes(toy):
    trainer = Trainer(tiny(steps=1), progress="quiet")
    trainer.fit()
    assert trainer.parts.G is not None and trainer.parts.feed is not None
    for name in ("G", "D", "feed", "loss", "opt_g"):
        with pytest.raises(AttributeError):
            getattr(trainer, name)

"""The ``tensorboard`` logger: event files written through ``torch.utils.tensorboard``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.errors import UsageError
from ganzoo.loggers import Logger

#: the scalars the HPARAMS tab shows beside each run's hyper-parameters
METRICS = ("d_loss", "g_loss")
#: TensorBoard's name for how a session ended, by `Logger.close` status
_STATUS = {"finished": "STATUS_SUCCESS", "failed": "STATUS_FAILURE"}


class TensorBoardLogger(Logger):
    """TensorBoard event files in RUN/tensorboard: scalars, sample grids and hyper-parameters.

    Each metrics line goes in under its metrics.jsonl names (d_loss, g_loss, d/TERM, ...), each
    evaluation under eval/ (eval/fd, ...), each sample grid as the image "samples", and the run
    config as hyper-parameters (the HPARAMS tab, with the run's status when it ends). A resumed
    run hides what was logged after its checkpoint, as metrics.jsonl drops it; --overwrite
    removes the replaced run's event files. See the runs with ``tensorboard --logdir runs``.
    Needs the tensorboard package: pip install "ganzoo[tensorboard]".

    flush_secs: the longest time, in seconds, before events reach the disk (and when the run ends).
    """

    def __init__(self, run_dir: Path, flush_secs: int = 30):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UsageError("the tensorboard logger needs the tensorboard package",
                             'install it with: pip install "ganzoo[tensorboard]"') from None
        self.log_dir = Path(run_dir) / "tensorboard"
        self.flush_secs = flush_secs
        self._writer_class = SummaryWriter
        self.writer: Any = None
        self.step = 0

    def start(self, config: dict[str, Any], meta: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        self.step = int(meta.get("start_step", 0))
        if self.step == 0:  # a new run (--overwrite): the replaced run's events go with it
            for old in self.log_dir.glob("events.out.tfevents.*"):
                old.unlink()
        # TensorBoard hides what earlier writers here logged after the step this run starts from (what
        # a resumed run logs again, or an overwritten run's), as metrics.jsonl is cut back on resume
        self.writer = self._writer_class(str(self.log_dir), purge_step=self.step + 1, flush_secs=self.flush_secs)
        values = flatten(config)
        if isinstance(meta.get("recipe"), str):
            values["recipe"] = meta["recipe"]
        metrics = METRICS + (("eval/fd",) if config.get("train", {}).get("eval_every") else ())
        experiment, session_start, _ = hparams(values, dict.fromkeys(metrics, 0.0))
        self.writer.file_writer.add_summary(experiment, self.step)
        self.writer.file_writer.add_summary(session_start, self.step)

    def scalars(self, step: int, values: dict[str, float]) -> None:
        self._add(step, values)

    def evaluation(self, step: int, values: dict[str, float]) -> None:
        self._add(step, {f"eval/{k}": v for k, v in values.items()})

    def image(self, tag: str, step: int, path: Path) -> None:
        from PIL import Image
        from tensorboard.compat.proto.summary_pb2 import Summary

        data = Path(path).read_bytes()  # the PNG as written: no decoding and encoding again
        with Image.open(path) as im:
            width, height = im.size
            channels = len(im.getbands())
        picture = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=data)
        self.writer.file_writer.add_summary(Summary(value=[Summary.Value(tag=tag, image=picture)]), step)
        self.step = step

    def close(self, status: str) -> None:
        if self.writer is None:
            return
        writer, self.writer = self.writer, None
        try:
            # TensorBoard keeps the first end it reads: an interrupted run says nothing, so that the end of
            # its resumed session is the one shown
            if status != "interrupted":
                writer.file_writer.add_summary(_session_end(status), self.step)
        finally:
            writer.close()

    def _add(self, step: int, values: dict[str, float]) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        # one event for the whole line: add_scalar would write one per value
        summary = Summary(value=[Summary.Value(tag=k, simple_value=v) for k, v in values.items()])
        self.writer.file_writer.add_summary(summary, step)
        self.step = step


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 2e-4}}`` -> ``{"train.lr": 2e-4}``: what TensorBoard's hyper-parameters take
    (numbers, strings and booleans; lists as their text, absent values left out)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, (bool, int, float, str)):
            flat[name] = value
        elif isinstance(value, (list, tuple)):
            flat[name] = ", ".join(str(v) for v in value)
    return flat


def _session_end(status: str) -> Any:
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams.api_pb2 import Status
    from tensorboard.plugins.hparams.metadata import PLUGIN_DATA_VERSION, PLUGIN_NAME, SESSION_END_INFO_TAG
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData, SessionEndInfo

    content = HParamsPluginData(session_end_info=SessionEndInfo(status=Status.Value(_STATUS[status])),
                                version=PLUGIN_DATA_VERSION)
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME,
                                                                      content=content.SerializeToString()))
    return Summary(value=[Summary.Value(tag=SESSION_END_INFO_TAG, metadata=metadata)])

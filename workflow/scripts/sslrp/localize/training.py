"""Training of a localization model: MSE on (x, y, z) in metres with Adam, early stopping on the validation
loss, and the best epoch's weights kept.

The learning-rate schedule is the paper's plateau decay or, for small budgets, a one-cycle or cosine schedule
(`SCHEDULES`); a model may start from seeded random weights (output bias at the mean training position) or,
warm, from another condition's checkpoint. Inputs and targets may be scaled during training (input gain,
per-axis standardized targets; `localize.scaling`), and the scaling is folded into the saved weights, so a
checkpoint always maps raw windows to metres. Batches may run under bf16 autocast (`inference.PRECISIONS`).

Each epoch draws `windows_per_source` windows per training source (the paper draws one), optionally at a
random sample offset, so an epoch sees every source equally often however long its utterance is.
Every random choice of an epoch derives from (seed, epoch) alone, and the full training state is saved
after each epoch: a run that is killed and restarted ends with the same history and the same weights (on
CPU) as one that never stopped.

Where the windows live during training (`keep_on_device`): on CUDA, when the training and validation windows fit
in the device's free memory with a reserve to spare, they are copied there once and every batch is cut from them
on the device (`DeviceSplit`), so an epoch moves no windows between host and device. Otherwise, and always on CPU,
they stay in numpy and one batch at a time is cut, copied to torch and moved to the device, so the window arrays
may be as large as host memory (or a memory map) allows. The two ways cut the same windows in the same order and
differ only in where the copying happens: on CPU they give bit-identical runs (tests/test_training.py).
"""

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import seeding
from ..io import save_torch
from .inference import autocast, predict
from .scaling import Scaling, TrainingView

SETTINGS = (
    "lr",
    "batch_size",
    "max_epochs",
    "early_stopping_patience",
    "lr_factor",
    "lr_patience",
    "windows_per_source",
    "random_offset",
    "init_bias_to_mean",
    "precision",
    "input_gain",
    "standardize_targets",
    "schedule",
)
SCHEDULES = ("plateau", "onecycle", "cosine")
# Device memory left free beside windows kept on a CUDA device (`keep_on_device`): the larger of a fixed amount and
# a fraction of the device's memory, for the weights, Adam's state, a batch's activations and gradients (LocCNN and
# SampleCNN at W = 5120, batch 100: well under 4 GiB) and the caching allocator's slack.
DEVICE_RESERVE_BYTES = 4 * 2**30
DEVICE_RESERVE_FRACTION = 0.1


@dataclass
class WindowSet:
    """One split of a dataset, in memory.

    windows: [N_win, M, W] float32; the windows of one source are consecutive in time, in row order.
    source: [N_win] int, each window's row in `positions`.
    positions: [N_src, 3] float, source positions in metres.
    """

    windows: np.ndarray
    source: np.ndarray
    positions: np.ndarray

    def __post_init__(self):
        if self.windows.ndim != 3 or len(self.windows) != len(self.source) or len(self.windows) == 0:
            raise ValueError(
                f"a WindowSet needs windows [N, M, W] and source [N] with N > 0; got windows "
                f"{self.windows.shape} and source {np.shape(self.source)}"
            )

    def targets(self, rows):
        """The true positions [len(rows), 3] (float32) of the windows in `rows`."""
        return np.asarray(self.positions[self.source[rows]], dtype=np.float32)

    def rows_by_source(self):
        """Row indices of each source's windows, in time order: a list of int arrays, one per source."""
        order = np.argsort(self.source, kind="stable")
        _, starts = np.unique(self.source[order], return_index=True)
        return np.split(order, starts[1:])

    def mean_position(self):
        """The mean position over sources (not windows): the best constant under per-source sampling."""
        return np.asarray(self.positions[np.unique(self.source)], dtype=np.float64).mean(axis=0)


def manual_seed(seed, purpose, *indices):
    """Seed torch's generators (CPU and CUDA) from (seed, purpose, indices), e.g. before building a model."""
    torch.manual_seed(int(seeding.rng(seed, purpose, *indices).integers(2**63)))


def draw_windows(rows_by_source, width, per_source, random_offset, gen):
    """Choose `per_source` training windows for every source; returns int64 [n, 3] rows of
    (row, next_row, shift).

    A drawn window is samples `shift` .. `shift + width` of window `row` followed by window `next_row`,
    i.e. a contiguous cut of the source's signal. Without `random_offset` the shift is 0 and whole
    stored windows are drawn; with it, the cut starts anywhere in the concatenation of the source's
    windows (cheap augmentation: many more distinct windows from the same signal).
    """
    draws = []
    for rows in rows_by_source:
        if random_offset:
            start = gen.integers(0, (len(rows) - 1) * width + 1, size=per_source)
        else:
            start = gen.integers(0, len(rows), size=per_source) * width
        k, shift = np.divmod(start, width)
        nxt = np.minimum(k + 1, len(rows) - 1)
        draws.append(np.stack([rows[k], rows[nxt], shift], axis=1))
    return np.concatenate(draws).astype(np.int64)


def cut_windows(windows, draws):
    """The float32 windows [len(draws), M, W] described by `draws` (see `draw_windows`)."""
    rows, nxt, shift = draws.T
    first = np.asarray(windows[rows], dtype=np.float32)
    if not shift.any():
        return first
    pair = np.concatenate([first, np.asarray(windows[nxt], dtype=np.float32)], axis=2)
    width = first.shape[2]
    return np.take_along_axis(pair, shift[:, None, None] + np.arange(width), axis=2)


def window_bytes(*splits):
    """The bytes the float32 windows of `splits` (WindowSets) take."""
    return sum(4 * math.prod(split.windows.shape) for split in splits)


def fits_in_device_memory(nbytes, free, total, reserve_bytes=DEVICE_RESERVE_BYTES,
                          reserve_fraction=DEVICE_RESERVE_FRACTION):
    """Whether `nbytes` fit in `free` bytes of a device of `total` bytes, leaving the reserve free: the larger of
    `reserve_bytes` and `reserve_fraction` of `total`."""
    return nbytes <= free - max(reserve_bytes, reserve_fraction * total)


def keep_on_device(nbytes, device):
    """Whether training keeps `nbytes` of windows in the memory of `device`, and why (a line for the log).

    Only on CUDA, and only when they fit in its free memory (`torch.cuda.mem_get_info`) with the reserve of
    `fits_in_device_memory` to spare. On CPU the windows are in memory already: they stay in numpy, one batch cut
    at a time (the reference path, whose numbers the quick default records)."""
    device = torch.device(device)
    if device.type != "cuda":
        return False, f"windows ({nbytes / 2**30:.2f} GiB) stay in host memory, one batch at a time to {device}"
    free, total = torch.cuda.mem_get_info(device)
    sizes = f"{nbytes / 2**30:.2f} GiB of windows, {free / 2**30:.1f} of {total / 2**30:.1f} GiB free on {device}"
    if fits_in_device_memory(nbytes, free, total):
        return True, f"{sizes}: training and validation windows kept on the device, batches cut there"
    reserve = max(DEVICE_RESERVE_BYTES, DEVICE_RESERVE_FRACTION * total)
    return False, f"{sizes}, {reserve / 2**30:.1f} GiB kept in reserve: one batch at a time copied to the device"


@dataclass
class DeviceSplit:
    """A split's windows (float32 [N_win, M, W]) and each window's true position (float32 [N_win, 3]) as tensors in
    a device's memory; `cut` cuts drawn windows from them there, as `cut_windows` does from numpy."""

    windows: torch.Tensor
    targets: torch.Tensor

    @classmethod
    def upload(cls, split, device, chunk=256):
        """Copy a WindowSet to `device`, `chunk` windows at a time (no second full copy in host memory)."""
        windows = torch.empty(split.windows.shape, dtype=torch.float32, device=device)
        for start in range(0, len(windows), chunk):
            part = np.asarray(split.windows[start : start + chunk], dtype=np.float32)
            windows[start : start + chunk].copy_(torch.from_numpy(part))
        return cls(windows, torch.from_numpy(split.targets(slice(None))).to(device))

    def cut(self, draws, shifted):
        """The windows [len(draws), M, W] of `draws` (an int64 tensor [n, 3] on the device, see `draw_windows`);
        `shifted`: whether any draw has a shift (known on the host, so that no batch waits on the device)."""
        rows, nxt, shift = draws.unbind(1)
        first = self.windows[rows]
        if not shifted:
            return first
        pair = torch.cat([first, self.windows[nxt]], dim=2)
        width = first.shape[2]
        index = (shift[:, None] + torch.arange(width, device=draws.device)).unsqueeze(1).expand_as(first)
        return torch.gather(pair, 2, index)


def fit(model, train, val, settings, *, seed, state_path, device="cpu", log=print, warm=False, resident=None):
    """Train `model` (any module mapping [B, M, W] to [B, 3]) in place and return the history.

    History: one dict per epoch with epoch, train_loss, val_loss (MSE, m²), val_mae (m, mean over
    coordinates), lr (the rate used in that epoch) and seconds. At the end `model` holds the weights of
    the epoch with the lowest validation loss.

    After every epoch the full state is written atomically to `state_path`; if that file exists at the
    start (and was written with the same seed, data shapes, starting weights and settings other than
    `max_epochs`, which counts too for the one-cycle and cosine schedules), training continues after its last
    epoch. So a plateau run with `max_epochs=k` followed by one with `max_epochs=n` ends exactly like a single
    n-epoch run. A state from other settings is ignored (training starts afresh).
    The caller deletes `state_path` once its final checkpoint is written; it must not be a declared
    Snakemake output, which Snakemake would delete when the job fails.

    Training may scale inputs and targets (`input_gain`, `standardize_targets`; see `sslrp.localize.scaling`); the
    scaling is folded into the returned weights, so `model` always maps raw windows to metres.
    `warm=True` means `model` already holds trained weights (e.g. another condition's checkpoint) to start
    from: they are kept, output bias included.
    `resident`: keep the training and validation windows in the device's memory and cut the batches there (True),
    copy one batch at a time (False), or decide by `keep_on_device` (None: on CUDA when they fit). Both give the
    same run; True on CPU only spends memory (the tests use it to show that).

    Raises FloatingPointError naming the epoch and batch when an input window or the loss is not finite.
    """
    _check_settings(settings)
    device = torch.device(device)
    used = np.unique(train.source)
    scaling = Scaling.for_training(train.windows, train.positions[used], settings["input_gain"],
                                   settings["standardize_targets"])
    view = TrainingView(model, scaling)
    if warm:
        scaling.unfold(model)
    elif settings["init_bias_to_mean"]:
        _init_output_bias(model, scaling.standardize(torch.as_tensor(train.mean_position())).numpy())
    model.to(device)
    rows_by_source = train.rows_by_source()
    steps = len(_batches(len(rows_by_source) * settings["windows_per_source"], settings["batch_size"]))
    optimizer = torch.optim.Adam(model.parameters(), lr=settings["lr"])
    scheduler = _scheduler(optimizer, settings, steps)
    fingerprint = _fingerprint(settings, seed, train, val, model)
    state = _resume(state_path, fingerprint, model, optimizer, scheduler, log) or _fresh_state(model)
    train_on, val_on = _place(train, val, device, resident, log) if not _finished(state, settings) else (None, None)
    while not _finished(state, settings):
        epoch = len(state["history"]) + 1
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        train_loss = _train_epoch(view, optimizer, scheduler, train, rows_by_source, settings, seed, epoch,
                                  device, train_on)
        val_loss, val_mae = _validate(view, val, settings, epoch, device, val_on)
        if settings["schedule"] == "plateau":
            scheduler.step(val_loss)
        record = dict(epoch=epoch, train_loss=train_loss, val_loss=val_loss, val_mae=val_mae, lr=lr,
                      seconds=time.perf_counter() - started)
        improved = _record(state, record, model)
        log(_epoch_line(record, settings["max_epochs"], improved))
        _save_state(state_path, state, fingerprint, model, optimizer, scheduler)
    _log_end(state, settings, log)
    model.load_state_dict(state["best_state"])
    scaling.fold(model)
    return state["history"]


def _place(train, val, device, resident, log):
    """The DeviceSplits of `train` and `val` when training keeps them on the device (see `fit`'s `resident`),
    else (None, None); logs where the windows are."""
    if resident is None:
        resident, why = keep_on_device(window_bytes(train, val), device)
    else:
        why = f"windows {'kept on' if resident else 'copied one batch at a time to'} {device} (resident={resident})"
    log(why)
    if not resident:
        return None, None
    return DeviceSplit.upload(train, device), DeviceSplit.upload(val, device)


def _scheduler(optimizer, settings, steps_per_epoch):
    """The learning-rate schedule: "plateau" (the paper's: divide by 1/lr_factor after lr_patience epochs
    without a better validation loss; stepped per epoch), or "onecycle" / "cosine" over the whole run of
    max_epochs (stepped per batch; `lr` is the peak rate)."""
    total = settings["max_epochs"] * steps_per_epoch
    if settings["schedule"] == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=settings["lr_factor"], patience=settings["lr_patience"]
        )
    if settings["schedule"] == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=settings["lr"], total_steps=total)
    if settings["schedule"] == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {settings['schedule']!r}")


def _check_settings(settings):
    missing = [key for key in SETTINGS if key not in settings]
    if missing:
        raise KeyError(f"training settings lack {', '.join(missing)}")


def _init_output_bias(model, mean_position):
    """Start the output layer (the last nn.Linear) at the mean position: training then begins at the
    mean predictor instead of spending early epochs learning the offset."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears or linears[-1].bias is None or linears[-1].out_features != len(mean_position):
        raise ValueError("init_bias_to_mean needs the model's last nn.Linear to have a bias of size 3")
    with torch.no_grad():
        linears[-1].bias.copy_(torch.as_tensor(mean_position, dtype=linears[-1].bias.dtype))


def _fingerprint(settings, seed, train, val, model):
    """What a resume state must match: everything that shapes the run except how long it lasts, including
    the starting weights (seeded, or another condition's checkpoint for a warm start)."""
    # A plateau schedule does not depend on the run's length; one-cycle and cosine schedules do.
    kept = {k: settings[k] for k in SETTINGS if k != "max_epochs" or settings["schedule"] != "plateau"}
    shapes = [list(train.windows.shape), list(val.windows.shape)]
    start = hashlib.sha256()
    for value in model.state_dict().values():
        start.update(value.detach().cpu().numpy().tobytes())
    return json.dumps({"seed": seed, "settings": kept, "shapes": shapes, "start": start.hexdigest()},
                      sort_keys=True, default=str)


def _fresh_state(model):
    return {"history": [], "best_state": _copy_weights(model), "best_val_loss": math.inf, "bad_epochs": 0}


def _copy_weights(model):
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _resume(state_path, fingerprint, model, optimizer, scheduler, log):
    """Load the saved state into model, optimizer and scheduler; None when there is none to resume."""
    path = Path(state_path)
    if not path.exists():
        return None
    saved = _read_state(path, log)
    if saved is None:
        return None
    if saved["fingerprint"] != fingerprint:
        log(f"ignoring resume state {path}: it was written with other settings or data")
        return None
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    log(f"resuming from {path} after epoch {len(saved['history'])}")
    return {k: saved[k] for k in ("history", "best_state", "best_val_loss", "bad_epochs")}


# Every key a resume state holds (_save_state): a file lacking one is damaged.
STATE_KEYS = ("history", "best_state", "best_val_loss", "bad_epochs", "fingerprint", "model", "optimizer",
              "scheduler")


def _read_state(path, log):
    """The saved resume state at `path`, or None when it is damaged (cut short by a full disk or a killed copy,
    empty, not a state): then it is set aside as `<path>.damaged` (kept for inspection, never read again), with
    a log line naming both, so that training starts afresh instead of failing on it at every retry."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(saved, dict) or not all(k in saved for k in STATE_KEYS):
            raise ValueError("not a resume state of this workflow")
    # torch.load's error depends on the damage: RuntimeError (zip cut short), EOFError (empty file),
    # UnpicklingError, and others; any of them means the state cannot be used.
    except Exception as err:
        aside = path.with_name(path.name + ".damaged")
        path.replace(aside)
        log(f"resume state {path} is damaged ({type(err).__name__}: {err}); set aside as {aside}, training starts "
            "afresh")
        return None
    return saved


def _save_state(state_path, state, fingerprint, model, optimizer, scheduler):
    saved = dict(state, fingerprint=fingerprint, model=model.state_dict(),
                 optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict())
    save_torch(saved, state_path)


def _finished(state, settings):
    return (
        len(state["history"]) >= settings["max_epochs"]
        or state["bad_epochs"] >= settings["early_stopping_patience"]
    )


def _batches(n, batch_size):
    """Index ranges of near-equal batches of at most `batch_size`: no lone last sample, on which
    BatchNorm cannot train."""
    return np.array_split(np.arange(n), -(-n // batch_size))


def _train_epoch(view, optimizer, scheduler, train, rows_by_source, settings, seed, epoch, device, on_device=None):
    """One pass over this epoch's drawn windows; returns the mean training loss (MSE of the trained
    coordinates: m², or standardized units with `standardize_targets`). `on_device`: the split's DeviceSplit, to
    cut the batches from on the device, or None (cut in numpy and copy each batch there)."""
    gen = seeding.rng(seed, "train-draw", epoch)
    draws = draw_windows(
        rows_by_source, train.windows.shape[2], settings["windows_per_source"], settings["random_offset"], gen
    )
    draws = draws[gen.permutation(len(draws))]
    manual_seed(seed, "train-torch", epoch)  # dropout masks depend on the epoch only, not on history
    view.train()
    total = 0.0
    device_draws = None if on_device is None else torch.from_numpy(draws).to(device)
    for number, batch in enumerate(_batches(len(draws), settings["batch_size"]), start=1):
        if on_device is None:
            x = torch.from_numpy(cut_windows(train.windows, draws[batch])).to(device)
            y = torch.from_numpy(train.targets(draws[batch, 0])).to(device)
        else:  # a batch is a contiguous range of the shuffled draws
            picked = device_draws[batch[0] : batch[-1] + 1]
            x, y = on_device.cut(picked, bool(draws[batch, 2].any())), on_device.targets[picked[:, 0]]
        if not torch.isfinite(x).all():
            raise FloatingPointError(
                f"training input is not finite at epoch {epoch}, batch {number}: "
                "check the input windows for NaN/inf"
            )
        loss = _step(view, optimizer, x, y, device, settings["precision"])
        if settings["schedule"] != "plateau":
            scheduler.step()
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss} at epoch {epoch}, batch {number}: "
                "check the input windows for NaN/inf, or lower the learning rate"
            )
        total += loss * len(batch)
    return total / len(draws)


def _step(view, optimizer, x, y, device, precision):
    """One Adam step on a batch (`x` windows, `y` true positions in metres, both tensors on `device`); returns
    its loss."""
    optimizer.zero_grad(set_to_none=True)
    with autocast(device, precision):
        out = view.standardized(x).float()
    loss = nn.functional.mse_loss(out, view.scaling.standardize(y))
    loss.backward()
    optimizer.step()
    return loss.item()


def _validate(view, val, settings, epoch, device, on_device=None):
    """Validation MSE (m²) and MAE (m) over all validation windows (those of `on_device`, the split's DeviceSplit,
    when it is given)."""
    windows = val.windows if on_device is None else on_device.windows
    pred = predict(view, windows, settings["batch_size"], device, settings["precision"])
    err = pred.astype(np.float64) - val.targets(slice(None))
    mse, mae = float(np.mean(err**2)), float(np.mean(np.abs(err)))
    if not math.isfinite(mse):
        raise FloatingPointError(
            f"validation loss became {mse} at epoch {epoch}: check the validation windows for NaN/inf"
        )
    return mse, mae


def _record(state, record, model):
    """Append the epoch to the history and track the best weights; True when the epoch is the best."""
    state["history"].append(record)
    if record["val_loss"] < state["best_val_loss"]:
        state.update(best_state=_copy_weights(model), best_val_loss=record["val_loss"], bad_epochs=0)
        return True
    state["bad_epochs"] += 1
    return False


def _epoch_line(record, max_epochs, improved):
    return (
        f"epoch {record['epoch']}/{max_epochs}: train_loss {record['train_loss']:.5f} "
        f"val_loss {record['val_loss']:.5f} val_mae {record['val_mae']:.4f} m lr {record['lr']:.3g} "
        f"({record['seconds']:.1f} s){' best' if improved else ''}"
    )


def _log_end(state, settings, log):
    history = state["history"]
    if not history:
        return
    best = min(history, key=lambda r: r["val_loss"])
    why = "early stopping" if state["bad_epochs"] >= settings["early_stopping_patience"] else "done"
    log(f"{why} after epoch {len(history)}; best epoch {best['epoch']}: val_loss {best['val_loss']:.5f} "
        f"val_mae {best['val_mae']:.4f} m")

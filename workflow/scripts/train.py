"""Train one model (LocCNN, SampleCNN or a model of your own) on one condition's dataset; or adopt a pretrained
checkpoint.

Outputs: the best checkpoint (a plain state dict, loadable with `load_state_dict(strict=True)`), a per-epoch
CSV and a loss-curve PNG. A killed run resumes from `<checkpoint>.resume.pt` (not a declared output); a damaged
one is set aside as `.resume.pt.damaged` and training starts afresh.
"""

from pathlib import Path

import torch

from sslrp import step_settings, steps
from sslrp.data import dataset
from sslrp.io import save_torch, write_csv
from sslrp.localize import inference, models, training
from sslrp.report import plots

COLUMNS = ("epoch", "train_loss", "val_loss", "val_mae", "lr", "seconds")


def window_set(path, split):
    """A dataset split as the training code's WindowSet."""
    part = dataset.read_split(path, split)
    return training.WindowSet(part.windows, part.source, part.position)


def run(data, checkpoint, history, curve, model, window, n_mics, settings, seed, device, threads,
        pretrained=None, init=None, check=None, log=None):
    """Train `model` (a `models:` entry) on the dataset `data` (or adopt the `pretrained` checkpoint; warm-start from
    the checkpoint `init`) and write the best `checkpoint`, the per-epoch `history` CSV and the loss `curve` PNG.
    `check`: the check step's report on a model of your own, a dependency only."""
    log = steps.logger(log)
    torch.set_num_threads(threads)
    spec = models.spec(model)
    model_name = spec.name
    if pretrained:
        model = models.load(spec, pretrained, window, n_mics, user_file=True)
        log.info(f"using the pretrained checkpoint {pretrained} instead of training")
        rows = []
    else:
        training.manual_seed(seed, f"init/{model_name}")  # seeded initial weights
        model = models.load(spec, init, window, n_mics) if init else spec.build(window, n_mics)
        if init:
            log.info(f"warm start from {init}")
        device = inference.step_device(device)  # training.device; fails here, naming it, where there is no CUDA
        state_path = Path(checkpoint).with_suffix(".resume.pt")
        train, val = window_set(data, "train"), window_set(data, "val")
        log.info(f"{model_name} on {device} ({settings['precision']}, {torch.get_num_threads()} threads): "
                 f"{len(train.windows)} train / {len(val.windows)} val windows")
        rows = training.fit(model, train, val, settings, seed=seed, state_path=state_path,
                            device=device, log=log.info, warm=bool(init))
    save_torch(model.cpu().state_dict(), checkpoint)  # atomic, byte-identical for identical weights
    write_csv(history, COLUMNS, [[row[k] for k in COLUMNS] for row in rows])
    plots.save_figure(plots.training_curve_figure(rows), curve)
    if not pretrained:
        state_path.unlink(missing_ok=True)  # only once the checkpoint is safely written


def cli():
    p = steps.model_parser(__doc__, checkpoint=False, replicate=True)
    p.add_argument("--out", required=True, help="checkpoint (.pth); the CSV and PNG go beside it")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: training.threads)")
    p.add_argument("--init", help="checkpoint to start from (default: training.warm_start's, if any)")
    args = p.parse_args()
    config = steps.load_config(args.config)  # the parser has checked --cond against it
    out = Path(args.out)
    warm_from = step_settings.warm_start_source(config, args.cond)  # its checkpoint lies beside --out
    init = args.init or (warm_from and str(out.with_name(f"{warm_from}.pth")))
    run(args.data, out, out.with_suffix(".csv"), out.with_suffix(".png"),
        **step_settings.train(config, args.model, args.cond, args.replicate),
        threads=args.threads or config["training"]["threads"],
        pretrained=step_settings.pretrained_checkpoint(config, args.model, args.cond), init=init, log=args.log)


if "snakemake" in globals():
    run(**steps.snakemake_args(snakemake), threads=snakemake.threads)
elif __name__ == "__main__":
    cli()

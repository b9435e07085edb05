"""The batched loop every input attribution runs (LRP in explain.lrp, the other methods in explain.attribution):
windows in, one map per window out, one batch at a time on the device, the model left as it was found."""

import contextlib

import numpy as np
import torch


def attribute(model, make_attributor, windows, targets, batch_size, device="cpu", to_map=None, seed=None,
              output_fn=None):
    """Attribution maps of every window: float32, shaped like `windows` [N, mics, W].

    `make_attributor()` returns a zennit attributor (a context manager registering its hooks on `model`);
    `targets[n]` (x, y, z) weights window n's output, zennit's `attr_output`. `to_map(grad, x)` turns the
    attributor's output for a batch into the map (default: as it is). With a `seed`, torch's generators are
    seeded for the loop and restored afterwards (SmoothGrad's noise). The model runs in eval mode on `device`
    (it is moved there); the hooks are removed and the training/eval mode restored afterwards, so the model
    computes exactly what it did before. `output_fn(target)`, when given, is what the attributor gets for a batch
    instead of its target tensor (e.g. a function of the output).
    """
    if len(windows) != len(targets):
        raise ValueError(f"{len(windows)} windows but {len(targets)} targets")
    device = torch.device(device)
    was_training = model.training
    model.to(device).eval()
    out = np.empty(np.shape(windows), dtype=np.float32)
    try:
        with contextlib.ExitStack() as stack:
            if seed is not None:
                stack.enter_context(torch.random.fork_rng(devices=[device] if device.type == "cuda" else []))
            attributor = stack.enter_context(make_attributor())
            if seed is not None:
                torch.manual_seed(seed)
            for start in range(0, len(windows), batch_size):
                batch = slice(start, start + batch_size)
                x = torch.as_tensor(windows[batch], dtype=torch.float32, device=device)
                target = torch.as_tensor(targets[batch], dtype=torch.float32, device=device)
                _, grad = attributor(x, target if output_fn is None else output_fn(target))
                grad = grad.detach()
                out[batch] = (grad if to_map is None else to_map(grad, x)).cpu().numpy()
    finally:
        model.train(was_training)
    return out

"""Lean LRP rules: zennit's rules, giving zennit's relevance, without the passes that are zero or thrown away.

`sslrp.explain.lrp` builds its composite from these (`LEAN`: zennit rule class -> its lean equivalent):
- `FastGamma` (zennit's generalized Gamma): zennit runs four modified forward passes per layer (positive and
  negative inputs, each for positive and for negative outputs), an unmodified one, and a backward pass through each.
  In a ReLU network most of them compute zeros: a layer whose input has no negative value (after a ReLU, or a
  max-pool of ReLU outputs) gets zeros from the two negative-input passes (their input x.clamp(max=0) is zero and
  they carry no bias), and a layer whose negative outputs receive no relevance (its output feeds a ReLU) gets zeros
  from the negative-output passes. `FastGamma` checks both facts on each batch's tensors, not on the architecture,
  and runs only the passes that can contribute; where the input has a negative value it runs zennit's.
- `LeanNorm`: Norm through the layer's own backward pass instead of a recomputation of the layer and a second one.
- `LeanWSquare`: WSquare's input-independent denominator computed for one window instead of every window.
- all of them, and `LeanEpsilon` and `LeanPass`: no computation of the layer's own gradient, which zennit's hooks
  throw away (`SkipsLayerGradient`), and no copy of a layer input that cannot change in place (`KeepsInput`).
The relevance is zennit's up to float rounding (tests/test_lrp_rules.py holds it to a relative L1 difference of
1e-5). zennit has no such shortcuts, hence these subclasses; parameter modifiers, stabilizers and hook mechanics are
zennit's.
"""

import weakref

import torch
from zennit.core import Identity, ParamMod, Stabilizer
from zennit.rules import Epsilon, Gamma, Norm, Pass, WSquare


class _Severed(torch.autograd.Function):
    """A layer's output whose backward gives the layer's input a zero gradient instead of the layer's own.

    Each zennit rule replaces the gradient that arrives at its layer's input by the relevance it computes from the
    stored input and the gradient at the output; the layer's own gradient, which autograd would compute first, is
    thrown away. This link saves computing it (a convolution's backward pass, a ReLU's mask). The zero is a
    broadcast scalar: nothing is allocated.
    """

    @staticmethod
    def forward(ctx, input, output):
        ctx.input_shape = input.shape
        return output.detach()

    @staticmethod
    def backward(ctx, grad):
        return grad.new_zeros(()).expand(ctx.input_shape), None


def _for_inputs(relevance, grad_input):
    """A backward hook's return value: `relevance` for the input of its shape, None for the others (as zennit's)."""
    return tuple(relevance if original.shape == relevance.shape else None for original in grad_input)


def stabilizer_fn(stabilizer):
    """zennit's stabilizer for `stabilizer` (`Stabilizer.ensure`); for a float epsilon, the same values in fewer
    passes over the tensor: z + eps where z >= 0 (zeros, -0.0 included), z - eps elsewhere (NaN stays NaN), as
    zennit's z + ((z == 0) + sign(z)) * eps gives them, in three elementwise operations instead of six."""
    if not isinstance(stabilizer, float):
        return Stabilizer.ensure(stabilizer)

    def stabilize(z):
        return z + torch.where(z >= 0, stabilizer, -stabilizer).to(z.dtype)

    return stabilize


class KeepsInput:
    """Mixin for a zennit rule: zennit's pre-forward hook without its copy of the layer's input, where the layer
    cannot change its input in place (it has no `inplace=True`).

    zennit copies every hooked layer's input so that an in-place layer (a ReLU(inplace=True)) cannot overwrite what
    the rule needs later; that is one memory pass over every activation of every batch. A layer with `inplace=True`
    keeps zennit's copy. Any other in-place change of a kept input after its layer ran (an `x += y` in the model's
    forward) is caught before the rule uses it, by the tensor's version, and named in the error.
    """

    def pre_forward(self, module, input):
        inputs = input if isinstance(input, tuple) else (input,)
        if getattr(module, "inplace", False) or not inputs[0].requires_grad:
            return super().pre_forward(module, input)
        hook_ref = weakref.ref(self)

        def wrapper(grad_input, grad_output):  # as zennit's, with the version check
            hook = hook_ref()
            if hook is None or not hook.active:
                return None
            kept = hook.stored_tensors.get("input")
            if kept is not None and kept[0]._version != hook.stored_tensors["input_version"]:
                raise RuntimeError(f"LRP: the input of layer {module} was changed in place after the layer ran "
                                   "(e.g. by an `x += y` in the model's forward); write that operation out of place "
                                   "(x = x + y)")
            return hook.backward(module, grad_input, hook.stored_tensors["grad_output"])

        post_input = Identity.apply(*inputs)
        self.tensor_handles.append(post_input[0].grad_fn.register_hook(wrapper))
        self.stored_tensors["input_version"] = post_input[0]._version
        return post_input[0] if len(post_input) == 1 else post_input


class KeepsOutput:
    """Mixin for a zennit rule: the layer's output is kept from the forward pass, with its version, for the rule to
    use instead of recomputing the layer; an in-place operation after the layer changes it, and then it is
    recomputed from the kept input."""

    def forward(self, module, input, output):
        super().forward(module, input, output)
        self.stored_tensors["output"] = output.detach()
        self.stored_tensors["output_version"] = output._version

    def _output(self, module):
        """The layer's unmodified output: the one kept from the forward pass, unless it was changed in place since."""
        output = self.stored_tensors["output"]
        if output._version != self.stored_tensors["output_version"]:
            with torch.no_grad():
                output = module.forward(self.stored_tensors["input"][0])
        return output


class SkipsLayerGradient:
    """Mixin for a zennit rule: the layer's output is `_Severed` from its input, so that autograd does not compute the
    layer's gradient, which the rule replaces anyway. Only for a layer with one input that takes part in the
    attribution (zennit hooks its input then); any other layer keeps its gradient."""

    def post_forward(self, module, input, output):
        if len(input) == 1 and input[0].requires_grad and isinstance(output, torch.Tensor):
            output = _Severed.apply(input[0], output)
        return super().post_forward(module, input, output)


class LeanWSquare(KeepsInput, SkipsLayerGradient, WSquare):
    """zennit `WSquare`, without the layer's own (discarded) gradient and with its denominator computed once.

    WSquare's relevance is J2^T (R / stab(z)), J2 the layer with squared parameters and z = J2 applied to an input
    of ones: z does not depend on the input, so it is the same for every window of a batch. zennit computes it for
    every window; here it is computed for one (`torch.func.vjp`) and the backward pass of all windows' R / stab(z)
    runs batched over that one (`torch.func.vmap`). Where that cannot run (a layer torch.func cannot batch, or a
    double backward), zennit's way.
    """

    def __init__(self, stabilizer=1e-6, zero_params=None):
        super().__init__(stabilizer=stabilizer, zero_params=zero_params)
        self.stabilizer, self.zero_params = stabilizer, zero_params
        self.stabilizer_fn = stabilizer_fn(stabilizer)

    def copy(self):
        """A fresh hook with the same arguments (zennit copies the rule once per module it is registered to)."""
        return type(self)(self.stabilizer, self.zero_params)

    def backward(self, module, grad_input, grad_output):
        """The WSquare relevance of the layer's input, the denominator computed for one window."""
        out_grad = grad_output[0]
        if out_grad.requires_grad:
            return super().backward(module, grad_input, grad_output)
        one = torch.ones_like(self.stored_tensors["input"][0][:1])
        try:
            with ParamMod.ensure(self.param_modifiers[0])(module) as modified:
                output, pullback = torch.func.vjp(modified.forward, one)
                scaled = out_grad / self.stabilizer_fn(output)
                relevance = torch.func.vmap(pullback)(scaled.unsqueeze(1))[0].squeeze(1)
        except RuntimeError:  # torch.func has no batching rule for this layer: zennit's way, the same relevance
            return super().backward(module, grad_input, grad_output)
        return _for_inputs(relevance, grad_input)


class LeanEpsilon(KeepsInput, SkipsLayerGradient, Epsilon):
    """zennit `Epsilon`, without the layer's own (discarded) gradient."""


class LeanNorm(KeepsInput, KeepsOutput, Norm):
    """zennit `Norm`, computed through the layer's own backward pass instead of a recomputation of the layer.

    Norm's relevance is x * J^T (R / stab(z)), J the layer's Jacobian and z its output: the input gradient the
    layer's own backward pass computes once the output gradient R is divided by stab(z). So the output gradient is
    divided on its way in (a tensor hook on the output), and the input gradient multiplied by x on its way out
    (zennit's hook at the input), where zennit recomputes the layer and runs a second backward pass through it.
    z is the output kept from the forward pass (`KeepsOutput`).
    """

    def __init__(self, stabilizer=1e-6):
        super().__init__(stabilizer=stabilizer)
        self.stabilizer = stabilizer
        self.stabilizer_fn = stabilizer_fn(stabilizer)

    def copy(self):
        """A fresh hook with the same stabilizer (zennit copies the rule once per module it is registered to)."""
        return type(self)(self.stabilizer)

    def post_forward(self, module, input, output):
        output = super().post_forward(module, input, output)
        if len(input) == 1 and input[0].requires_grad and isinstance(output, torch.Tensor):
            output.register_hook(lambda grad: grad / self.stabilizer_fn(self._output(module)))
        return output

    def backward(self, module, grad_input, grad_output):
        """x times the input gradient of the layer's own backward pass (of the divided output gradient)."""
        x = self.stored_tensors["input"][0]
        relevance = x * grad_input[0]
        return _for_inputs(relevance, grad_input)


class LeanPass(KeepsInput, SkipsLayerGradient, Pass):
    """zennit `Pass`, without the layer's own (discarded) gradient."""


class FastGamma(KeepsInput, KeepsOutput, SkipsLayerGradient, Gamma):
    """zennit `Gamma` (same arguments, same relevance) that skips the passes whose terms are zero (module docstring).

    Of zennit's passes (index: input sign, output sign): 0 = positive inputs for positive outputs, 1 = negative
    inputs for positive outputs, 2 = positive inputs for negative outputs, 3 = negative inputs for negative outputs,
    4 = unmodified. With a non-negative input only 0 and 2 can contribute, and each only where its outputs carry
    relevance.
    """

    def __init__(self, gamma=0.25, stabilizer=1e-6, zero_params=None):
        super().__init__(gamma=gamma, stabilizer=stabilizer, zero_params=zero_params)
        self.gamma, self.stabilizer, self.zero_params = gamma, stabilizer, zero_params
        self.stabilizer_fn = stabilizer_fn(stabilizer)

    def copy(self):
        """A fresh hook with the same arguments (zennit copies the rule once per module it is registered to)."""
        return type(self)(self.gamma, self.stabilizer, self.zero_params)

    def backward(self, module, grad_input, grad_output):
        """The Gamma relevance of the layer's input, from the positive-input passes that carry relevance."""
        stored = self.stored_tensors["input"][0]
        if (stored < 0).any():  # negative inputs: every pass can contribute, run zennit's
            return super().backward(module, grad_input, grad_output)
        out_grad = grad_output[0]
        x = stored.detach().requires_grad_()
        output = self._output(module)
        outputs, grad_outputs = [], []
        # passes 0 and 2: positive inputs, with the parameters zennit uses for positive and for negative outputs
        for mask, param_mod in ((output > 0.0, self.param_modifiers[0]), (output < 0.0, self.param_modifiers[2])):
            relevance = mask * out_grad
            if not relevance.any():
                continue
            with ParamMod.ensure(param_mod)(module) as modified, torch.autograd.enable_grad():
                modified_output = modified.forward(x)
            outputs.append(modified_output)
            # zennit's denominator adds the negative-input pass, which is exactly zero here
            grad_outputs.append(relevance / self.stabilizer_fn(modified_output))
        if outputs:
            gradient, = torch.autograd.grad(outputs, x, grad_outputs=grad_outputs,
                                            create_graph=out_grad.requires_grad)
            relevance = x * gradient
        else:
            relevance = torch.zeros_like(x)
        return _for_inputs(relevance, grad_input)


# zennit rule class -> its lean equivalent here (explain.lrp builds the composite from these).
LEAN = {WSquare: LeanWSquare, Epsilon: LeanEpsilon, Norm: LeanNorm, Pass: LeanPass, Gamma: FastGamma}

"""A small residual localization CNN: the worked example of "Explain your own model" (README).

It is neither LocCNN nor SampleCNN: a convolution stem with batch norm, one residual block (two convolutions with
batch norm, added to the block's input), global average pooling and a dense layer to (x, y, z). It keeps the
workflow's contract: `forward` takes float32 [batch, mics, window] and returns [batch, 3] positions in metres.

Written as a researcher would write their own network, with two habits that make LRP work without surprises:
- modules are registered in the order the forward pass uses them (zennit merges each batch norm into the
  convolution registered right before it);
- the residual addition is a method (`ResidualBlock.add`), so that the canonizer in `tiny_resnet_lrp.py` can route
  it through a zennit `Sum` module, which the composite maps to the Norm rule.
"""

from torch import nn


class ResidualBlock(nn.Module):
    """conv -> BN -> ReLU -> conv -> BN, added to the input, then ReLU."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv1d(channels, channels, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm1d(channels)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv1d(channels, channels, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm1d(channels)
        self.act2 = nn.ReLU()

    def forward(self, x):
        y = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(self.add(x, y))

    def add(self, x, y):
        """The residual addition (a canonizer replaces it with a zennit Sum for LRP)."""
        return x + y


class TinyResNet(nn.Module):
    """Stem (conv 7 + BN + ReLU + max-pool 4), a residual block, max-pool 4, global average, dense -> (x, y, z)."""

    def __init__(self, n_mics, window, channels=16):
        super().__init__()
        if window < 16:
            raise ValueError(f"TinyResNet pools by 16: it needs windows of at least 16 samples, got {window}")
        self.conv = nn.Conv1d(n_mics, channels, kernel_size=7, padding=3)
        self.bn = nn.BatchNorm1d(channels)
        self.act = nn.ReLU()
        self.pool1 = nn.MaxPool1d(4)
        self.block = ResidualBlock(channels)
        self.pool2 = nn.MaxPool1d(4)
        self.average = nn.AdaptiveAvgPool1d(1)
        self.flatten = nn.Flatten()
        self.out = nn.Linear(channels, 3)

    def forward(self, x):
        x = self.pool1(self.act(self.bn(self.conv(x))))
        x = self.pool2(self.block(x))
        return self.out(self.flatten(self.average(x)))

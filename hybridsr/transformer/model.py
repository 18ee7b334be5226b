"""The encoder-decoder network: data points in, prefix tokens out (torch).

Each data point's number tokens (:mod:`hybridsr.transformer.data`) are
embedded, concatenated and mapped by a small MLP to one vector (Kamienny et
al.'s embedder), so the encoder attends over points, not over tokens, and
has no positional encoding: a dataset is a set. The decoder is a standard
causal transformer decoder with learned positions over the output tokens.

Weights are saved as a plain dict (configuration, ``state_dict``, metadata)
and loaded with ``torch.load(weights_only=True)``: no pickled code runs.
The shipped file, :data:`SHIPPED_WEIGHTS`, lies in this package.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from .config import TransformerConfig

__all__ = ["SRTransformer", "SHIPPED_WEIGHTS", "shipped_weights_path", "save_model", "load_model"]

#: File name of the pretrained weights inside this package.
SHIPPED_WEIGHTS = "sr_transformer.pt"


class SRTransformer(nn.Module):
    """Encoder over data points, decoder over expression tokens.

    Parameters
    ----------
    config : TransformerConfig
    """

    def __init__(self, config: TransformerConfig):
        super().__init__()
        self.config = config
        n_tokens = len(config.vocabulary)
        d = config.d_model
        self.number_embedding = nn.Embedding(n_tokens, config.d_number)
        self.point_mlp = nn.Sequential(
            nn.Linear(config.point_width * config.d_number, config.d_feedforward), nn.GELU(),
            nn.Linear(config.d_feedforward, d))
        self.encoder = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(d, config.n_heads, config.d_feedforward, config.dropout,
                                       activation="gelu", batch_first=True, norm_first=True),
            config.n_encoder_layers, norm=nn.LayerNorm(d), enable_nested_tensor=False)
        self.token_embedding = nn.Embedding(n_tokens, d)
        self.position_embedding = nn.Embedding(config.max_length + 2, d)
        self.decoder = nn.TransformerDecoder(
            nn.TransformerDecoderLayer(d, config.n_heads, config.d_feedforward, config.dropout,
                                       activation="gelu", batch_first=True, norm_first=True),
            config.n_decoder_layers, norm=nn.LayerNorm(d))
        self.output = nn.Linear(d, n_tokens)

    def encode(self, points: torch.Tensor) -> torch.Tensor:
        """Memory of shape (B, n_points, d_model) for point tokens (B, n_points, point_width)."""
        batch, n_points, width = points.shape
        embedded = self.number_embedding(points).reshape(batch, n_points, -1)
        return self.encoder(self.point_mlp(embedded))

    def decode(self, memory: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
        """Next-token logits (B, T, n_tokens) for every position of ``prefix`` (B, T)."""
        length = prefix.shape[1]
        positions = torch.arange(length, device=prefix.device)
        x = self.token_embedding(prefix) + self.position_embedding(positions)[None]
        # Boolean, like the padding mask (torch deprecates mixing mask types).
        causal = torch.ones(length, length, dtype=torch.bool, device=prefix.device).triu(1)
        padding = prefix == self.config.vocabulary.pad
        x = self.decoder(x, memory, tgt_mask=causal, tgt_is_causal=True,
                         tgt_key_padding_mask=padding)
        return self.output(x)

    def forward(self, points: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(points), prefix)

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def shipped_weights_path() -> Path:
    """Where the pretrained weights lie (inside the installed package)."""
    return Path(str(resources.files(__package__).joinpath(SHIPPED_WEIGHTS)))


def save_model(model: SRTransformer, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write configuration, weights and metadata; atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    document = {"format": 1, "config": model.config.to_dict(), "state_dict": state,
                "metadata": dict(metadata or {})}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(document, tmp)
    os.replace(tmp, path)


def load_model(path: str | os.PathLike | None = None) -> tuple[SRTransformer, dict]:
    """The model saved at ``path`` (default: the shipped weights), in eval mode, and its metadata.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ValueError
        When the file is not a saved transformer.
    """
    path = shipped_weights_path() if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no transformer weights at {str(path)!r}; train some with "
                                f"`hybridsr transformer train --out {path}`")
    document = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(document, dict) or document.get("format") != 1:
        raise ValueError(f"{str(path)!r} is not a saved hybridsr transformer")
    model = SRTransformer(TransformerConfig.from_dict(document["config"]))
    model.load_state_dict(document["state_dict"])
    model.eval()
    return model, dict(document.get("metadata", {}))

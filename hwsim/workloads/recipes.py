"""Named quantisation recipes: the operand formats a whole model runs with.

A recipe fixes, for a model's GEMMs, the format of the weights (B operand of the linear
layers), of the activations (A operand everywhere) and of the KV cache (B operand of the
attention GEMMs), plus the quantiser from :mod:`hwsim.workloads.quant` that produces
those integers from float tensors. The recipes are a fixed table, chosen by name (no
format mini-language is parsed from strings).

Asymmetric group-wise weights are unsigned codes with a zero point per group (the GPTQ
storage). Floating-point 16-bit operands (``w16a16``, the activations of weight-only recipes) are
described by a 16-bit :class:`~hwsim.workloads.ops.IntFormat`: the cost families read
only the width. Ternary weights use a signed 2-bit format (values -1, 0, +1), i.e. two
bits of storage per weight (the 1.58-bit packing is not modelled).
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.errors import ConfigError, check_choice, check_int
from hwsim.workloads.ops import IntFormat


@dataclass(frozen=True)
class QuantRecipe:
    """Operand formats of a quantised model.

    Parameters
    ----------
    name : str
        Recipe name, e.g. ``"w4a16-g128"``.
    weight : IntFormat
        Format of linear-layer weights (with ``group_size`` for group-wise recipes).
    act : IntFormat
        Format of activations entering every GEMM.
    kv : IntFormat
        Format of the KV cache (the B operand of attention score and context GEMMs).
    attn_act : IntFormat
        Format of the A operand of attention GEMMs (queries, probabilities).
    scheme : str
        Name of the quantiser in :data:`hwsim.workloads.quant.SCHEMES` that implements
        the linear layers (``"fp16"`` for the 16-bit baseline).
    description : str
        One line for listings.
    group_meta_bytes : int
        Bytes stored with each weight group of each output column: an fp16 scale (2),
        plus a zero point (1) for asymmetric formats, or an 8-bit shared exponent (1)
        for block floating point; 0 for formats without K-groups.
    """

    name: str
    weight: IntFormat
    act: IntFormat
    kv: IntFormat
    attn_act: IntFormat
    scheme: str
    description: str
    group_meta_bytes: int = 0

    def __post_init__(self):
        check_int("group_meta_bytes", self.group_meta_bytes, 0)
        if (self.weight.group_size is None) != (self.group_meta_bytes == 0):
            raise ConfigError("group_meta_bytes", "must be positive exactly when weights are group-wise")


def _r(name, wbits, abits, kvbits, scheme, desc, group=None, wsigned=True, attn_bits=None, meta=0):
    return QuantRecipe(
        name=name,
        weight=IntFormat(wbits, wsigned, group),
        act=IntFormat(abits),
        kv=IntFormat(kvbits),
        attn_act=IntFormat(attn_bits if attn_bits is not None else kvbits),
        scheme=scheme,
        description=desc,
        group_meta_bytes=meta,
    )


RECIPES: dict[str, QuantRecipe] = {
    r.name: r
    for r in (
        _r("w16a16", 16, 16, 16, "fp16", "16-bit weights, activations and KV cache (FP16 baseline)"),
        _r("w8a8", 8, 8, 8, "int8-per-token",
           "INT8 per-channel weights x INT8 per-token activations; INT8 KV cache"),
        _r("llm-int8", 8, 8, 16, "llm-int8",
           "LLM.int8(): vector-wise INT8 with 16-bit outlier features; 16-bit attention"),
        _r("w4a16-g128", 4, 16, 16, "int4-g128-asym",
           "weight-only INT4, groups of 128 along K (GPTQ/LUT-GEMM storage)", group=128, meta=3, wsigned=False),
        _r("w3a16-g128", 3, 16, 16, "int3-g128-asym",
           "weight-only INT3, groups of 128 along K", group=128, meta=3, wsigned=False),
        _r("w2a16-g64", 2, 16, 16, "int2-g64-asym",
           "weight-only INT2, groups of 64 along K", group=64, meta=3, wsigned=False),
        _r("w4a8-g128", 4, 8, 8, "w4a8-g128",
           "INT4 group-wise weights x INT8 per-token activations; INT8 KV cache", group=128, meta=2),
        _r("w4a4-g128", 4, 4, 4, "w4a4-g128",
           "INT4 group-wise weights x INT4 per-token activations; INT4 KV cache", group=128, meta=2),
        _r("w1.58a8", 2, 8, 16, "ternary",
           "BitNet b1.58: ternary weights (absmean), INT8 per-token activations, 16-bit KV",
           attn_bits=16),
        _r("bfp8", 8, 8, 8, "bfp8-b32-reorder",
           "block floating point, 8-bit mantissas, blocks of 32 along K after outlier reordering",
           group=32, meta=1),
    )
}


def get_recipe(name: str, source: str | None = None) -> QuantRecipe:
    """Look up a recipe by name; raise :class:`ConfigError` (key ``quant``) if unknown.

    >>> get_recipe("w4a16-g128").weight.group_size
    128
    """
    try:
        return RECIPES[check_choice("quant", name, tuple(RECIPES))]
    except ConfigError as e:
        raise ConfigError(e.key, e.reason, source) from None


def list_recipes() -> list[str]:
    """Names of all recipes."""
    return list(RECIPES)

"""The ops of a decode step on one device of the system (a tensor/pipeline-parallel shard).

NeuPIMs runs each model split over devices (``configs/model_configs``: GPT3-7B and 13B
with 4-way tensor parallelism, GPT3-30B with 4-way tensor and 2-way pipeline
parallelism; FAMILIES.md section B); one device holds ``heads / tp`` heads and
``1 / tp`` of every weight matrix's sharded dimension, for ``layers / pp`` layers. The
all-reduce between tensor-parallel devices is not modelled (neither engine runs it).

Per layer and sub-batch of ``m`` requests (``d`` the hidden size, ``e = heads * d_head``
of the shard, ``f`` the shard's FFN width), in order:

=========  ==========================  =====================================
op         engine                      shape / work
=========  ==========================  =====================================
ln1        NPU vector units            ``m * d`` elements, ``LN_PASSES``
qkv        NPU arrays                  ``m x d x 3e`` (+ K and V of the new token written)
attention  PIM (or NPU, npu-only)      per request: score and context GEMVs, softmax
proj       NPU arrays                  ``m x e x d``
res1+ln2   NPU vector units            ``m * d``, ``1 + LN_PASSES``
ffn1       NPU arrays                  ``m x d x f``, then GELU on ``m * f``
ffn2       NPU arrays                  ``m x f x d``, then the residual on ``m * d``
=========  ==========================  =====================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwsim.errors import ConfigError, check_int
from hwsim.workloads.models import ModelSpec, load_model

#: NeuPIMs ``configs/model_configs/*.json`` (n_tp, n_pp), FAMILIES.md section B and the
#: anchor's files: the parallelism its evaluation ran each model with.
NEUPIMS_PARALLELISM = {"gpt3-7b": (4, 1), "gpt3-13b": (4, 1), "gpt3-30b": (4, 2)}

#: Element passes of the vector ops (one lane-cycle per element per pass; NeuPIMs'
#: vector ops have 1-cycle latencies): layer norm = mean, variance, normalise-and-scale;
#: softmax = max, exponent-and-sum, divide; GELU and the residual add one pass each.
LN_PASSES = 3
SOFTMAX_PASSES = 3
GELU_PASSES = 1
RESIDUAL_PASSES = 1
#: FP16 bytes per element (NeuPIMs "precision 2 B").
ELEM_BYTES = 2


@dataclass(frozen=True)
class Shard:
    """The part of a model one device runs."""

    spec: ModelSpec
    tp: int = 1
    pp: int = 1

    def __post_init__(self):
        check_int("tp", self.tp, 1)
        check_int("pp", self.pp, 1)
        s = self.spec
        if s.architecture != "decoder":
            raise ConfigError("model", f"{s.name} is an encoder: it has no decode step")
        if s.num_heads % self.tp or s.ffn_size % self.tp:
            raise ConfigError("tp", f"must divide the {s.num_heads} heads and FFN width {s.ffn_size} of "
                              f"{s.name}, not {self.tp}")
        if s.num_kv_heads != s.num_heads:
            raise ConfigError("model", f"{s.name} uses grouped-query attention; the PIM layout here is "
                              "for multi-head attention (one KV head per query head)")
        if self.pp > s.num_layers:
            raise ConfigError("pp", f"must be <= the {s.num_layers} layers of {s.name}, not {self.pp}")

    @classmethod
    def of(cls, model: str | ModelSpec, tp: int | None = None, pp: int | None = None) -> "Shard":
        spec = model if isinstance(model, ModelSpec) else load_model(model)
        dtp, dpp = NEUPIMS_PARALLELISM.get(spec.name, (1, 1))
        return cls(spec, dtp if tp is None else tp, dpp if pp is None else pp)

    @property
    def d(self) -> int:
        return self.spec.hidden_size

    @property
    def d_head(self) -> int:
        return self.spec.dim_per_head

    @property
    def heads(self) -> int:
        return self.spec.num_heads // self.tp

    @property
    def e(self) -> int:
        return self.heads * self.d_head

    @property
    def ffn(self) -> int:
        return self.spec.ffn_size // self.tp

    @property
    def layers(self) -> int:
        return math.ceil(self.spec.num_layers / self.pp)

    def gemms(self, m: int) -> dict:
        """``{name: (m, k, n)}`` of one layer's NPU GEMMs for ``m`` tokens."""
        return {"qkv": (m, self.d, 3 * self.e), "proj": (m, self.e, self.d),
                "ffn1": (m, self.d, self.ffn), "ffn2": (m, self.ffn, self.d)}

    def weight_bytes(self) -> int:
        """Weights of the shard's layers (FP16)."""
        per_layer = sum(k * n for _, k, n in self.gemms(1).values())
        return self.layers * per_layer * ELEM_BYTES

    def kv_bytes_per_token(self) -> int:
        """K and V of one token over the shard's layers."""
        return 2 * self.layers * self.e * ELEM_BYTES

    def to_dict(self) -> dict:
        return {"model": self.spec.name, "tp": self.tp, "pp": self.pp, "layers": self.layers,
                "heads": self.heads, "d_head": self.d_head, "hidden": self.d, "ffn": self.ffn}

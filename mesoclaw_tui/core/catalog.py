"""Our curated layer of the built-in registry: which models, under which names, at which tier, in
which lifecycle, with which successor and capabilities.

Numbers (prices, context windows, the provider's deprecation flag) are not typed here: they come
from the pinned genai-prices data, generated into `model_data.py` by `scripts/update_registry.py`.
This module imports nothing generated, so that script can read it to know what to generate.

Checked 2026-12-01 against the providers' pages (titles and URLs in `LIFECYCLE`'s notes and the
README); where sources disagree the note says so.
"""

from __future__ import annotations

from typing import NamedTuple

from .types import Capability, CostTier, Lifecycle

L, M, H = CostTier.LOW, CostTier.MEDIUM, CostTier.HIGH
ACTIVE, LEGACY, DEPRECATED, RETIRED = Lifecycle.ACTIVE, Lifecycle.LEGACY, Lifecycle.DEPRECATED, Lifecycle.RETIRED
CHECKED = "2026-12-01"  # the day the lifecycle table below was checked against the providers' pages


class CatalogEntry(NamedTuple):
    """One built-in route: a provider and the ID its API accepts, under a canonical name.

    Named tuples here, not dataclasses: the catalog loads on every CLI start, and defining a
    dataclass costs several times more than defining a named tuple."""

    provider: str
    model_id: str
    canonical: str
    tier: CostTier
    best_for: str
    aliases: tuple[str, ...] = ()
    max_output: int | None = None  # genai-prices has no max output: from the provider's docs
    context_window: int | None = None  # only where the data has none
    approx: bool = False  # the ID or a fact is not confirmed on the provider's own page
    note: str = ""


class ModelLife(NamedTuple):
    """The lifecycle and capabilities of a model, shared by every provider that serves it."""

    lifecycle: Lifecycle
    retires: str = ""  # ISO date; "" where none is announced
    successor: str = ""  # canonical name of the recommended replacement
    capabilities: frozenset[Capability] | None = None
    note: str = ""  # the source, and where sources disagree


T, P, S, IMG, R = (Capability.TOOLS, Capability.PARALLEL_TOOLS, Capability.STRUCTURED_OUTPUT,
                 Capability.IMAGE_INPUT, Capability.REASONING)
ALL = frozenset({T, P, S, IMG, R})
NO_REASONING = frozenset({T, P, S, IMG})

ANTHROPIC_PAGES = "Anthropic 'Models overview' and per-model pages (platform.claude.com/docs/en/models/…)"
OPENAI_DEPRECATIONS = "OpenAI 'Deprecations' (developers.openai.com/api/docs/deprecations)"
OPENAI_MODELS = "OpenAI 'Models' (developers.openai.com/api/docs/models)"
GEMINI_DEPRECATIONS = "Google 'Gemini deprecations' (ai.google.dev/gemini-api/docs/deprecations)"
GROQ_DEPRECATIONS = "Groq 'Model Deprecation' (console.groq.com/docs/deprecations)"

# Keyed by canonical name. A canonical missing here is active with capabilities not recorded.
LIFECYCLE: dict[str, ModelLife] = {
    # Anthropic: the 5.5 generation and Fable are current (models overview, checked 2026-12-01).
    "claude-fable-5.2": ModelLife(ACTIVE, capabilities=ALL, note=ANTHROPIC_PAGES),
    "claude-opus-5.5": ModelLife(ACTIVE, capabilities=ALL, note=ANTHROPIC_PAGES),
    "claude-sonnet-5.5": ModelLife(
        ACTIVE, capabilities=ALL,
        note=ANTHROPIC_PAGES + "; forced tool use (tool_choice any/tool) returns an error on Sonnet 5.5"),
    "claude-haiku-5.5": ModelLife(ACTIVE, capabilities=ALL, note=ANTHROPIC_PAGES),
    "claude-opus-4.5": ModelLife(
        DEPRECATED, "2027-01-22", "claude-opus-5.5", ALL,
        note="Anthropic deprecated claude-opus-4-5-20251101 on 2026-11-23, tentative retirement 2027-01-22, "
             "replacement claude-opus-5-5 (deprecations page as transcribed by Modelpin 0.5.7, 2026-11-26); "
             "the per-model page we could read still said Legacy"),
    "claude-sonnet-4.5": ModelLife(
        RETIRED, "2026-11-30", "claude-sonnet-5.5", ALL,
        note="Anthropic 'Claude Sonnet 4.5' page: deprecated, retires November 30, 2026, recommended "
             "replacement Claude Sonnet 5.5 (third-party news gave May 2026 dates for the Claude apps)"),
    "claude-haiku-4.5": ModelLife(
        LEGACY, "", "claude-haiku-5.5", ALL,
        note="Anthropic 'Claude Haiku 4.5' page: Legacy, consider migrating to Claude Haiku 5.5"),
    "claude-sonnet-4": ModelLife(
        RETIRED, "2026-06-15", "claude-sonnet-5.5", frozenset({T, P, IMG, R}),
        note="Anthropic retired claude-sonnet-4-20250514 on 2026-06-15 naming claude-sonnet-4-6, whose "
             "current successor is Claude Sonnet 5.5 (Anthropic release notes)"),
    # OpenAI: GPT-6 / 6.1 are current (models page); the seed's models are on the deprecations page.
    "gpt-6-astra": ModelLife(ACTIVE, capabilities=ALL, note=OPENAI_MODELS),
    "gpt-6.1-sol": ModelLife(ACTIVE, capabilities=ALL, note=OPENAI_MODELS),
    "gpt-6.1-terra": ModelLife(ACTIVE, capabilities=ALL, note=OPENAI_MODELS),
    "gpt-6-luna": ModelLife(ACTIVE, capabilities=ALL, note=OPENAI_MODELS),
    "gpt-4o": ModelLife(
        DEPRECATED, "2027-01-14", "gpt-6.1-sol", NO_REASONING,
        note=OPENAI_DEPRECATIONS + ": gpt-4o snapshots shut down 2027-01-14. Sources disagree on the "
             "replacement: gpt-6.1-sol (CometAPI's notice of OpenAI's table) or gpt-6-luna for all four "
             "GPT-4o/4.1 models (dev.to and codersera transcriptions, Oct 2026); gpt-6.1-sol is kept "
             "because it is gpt-4o's price class"),
    "gpt-4o-mini": ModelLife(
        DEPRECATED, "2027-01-14", "gpt-6-luna", NO_REASONING,
        note=OPENAI_DEPRECATIONS + ": shut down 2027-01-14, replacement gpt-6-luna"),
    "gpt-4-turbo": ModelLife(
        RETIRED, "2026-10-23", "gpt-6.1-sol", frozenset({T, P, IMG}),
        note=OPENAI_DEPRECATIONS + ": shut down 2026-10-23 naming gpt-5.6-sol; gpt-6.1-sol is the current "
             "model OpenAI names for gpt-5-class work"),
    "o3": ModelLife(
        DEPRECATED, "2026-12-11", "gpt-6.1-sol", frozenset({T, S, IMG, R}),
        note=OPENAI_DEPRECATIONS + ": shut down 2026-12-11; the table named gpt-5.6-sol in October and "
             "gpt-6.1-sol since. Parallel tool calls not recorded for o-series models"),
    "o4-mini": ModelLife(
        RETIRED, "2026-10-23", "gpt-6.1-terra", frozenset({T, S, IMG, R}),
        note=OPENAI_DEPRECATIONS + ": shut down 2026-10-23 naming gpt-5.6-terra, whose current "
             "counterpart is gpt-6.1-terra"),
    "gpt-3.5-turbo": ModelLife(
        RETIRED, "2026-10-23", "gpt-6.1-terra", frozenset({T, P}),
        note=OPENAI_DEPRECATIONS + ": shut down 2026-10-23 naming gpt-5.6-terra"),
    # Google: Gemini 4 Argon and 3.8 Flash are current; 3.5 Flash-Lite is the current low-cost Flash.
    "gemini-4-argon": ModelLife(
        ACTIVE, capabilities=ALL,
        note="Google 'Get started with Gemini 4' (docs.cloud.google.com); released 2026-10-13. "
             "genai-prices has $2/$10 until 2026-12-01 and $4/$20 from then; gateways still list $2/$10"),
    "gemini-3.8-flash": ModelLife(ACTIVE, capabilities=ALL, note=GEMINI_DEPRECATIONS + ": no shutdown date"),
    "gemini-3.5-flash-lite": ModelLife(ACTIVE, capabilities=ALL, note=GEMINI_DEPRECATIONS + ": no shutdown date"),
    "gemini-2.0-flash": ModelLife(
        RETIRED, "2026-06-01", "gemini-3.8-flash", NO_REASONING,
        note=GEMINI_DEPRECATIONS + ": shut down 2026-06-01. The Gemini API named gemini-3.6-flash and "
             "Vertex AI gemini-3.1-flash-lite; both are older than the current Flash, gemini-3.8-flash"),
    "gemini-2.0-flash-exp": ModelLife(
        RETIRED, "2026-06-01", "gemini-3.8-flash", NO_REASONING,
        note="an experimental alias of gemini-2.0-flash, assumed gone with it (not on OpenRouter's data)"),
    "gemini-1.5-pro": ModelLife(
        RETIRED, "2025-09-24", "gemini-4-argon", frozenset({T, P, S, IMG}),
        note=GEMINI_DEPRECATIONS + ": shut down 2025-09-24; Gemini 4 Argon is the current Pro-class model"),
    "gemini-1.5-flash": ModelLife(
        RETIRED, "2025-09-24", "gemini-3.8-flash", frozenset({T, P, S, IMG}),
        note=GEMINI_DEPRECATIONS + ": shut down 2025-09-24"),
    # Groq: the Llama models were decommissioned 2026-08-16; GPT-OSS is what Groq recommends.
    "gpt-oss-120b": ModelLife(
        ACTIVE, capabilities=frozenset({T, S, R}),
        note="OpenAI 'gpt-oss-120b' model page: function calling, structured outputs, text input only; "
             "parallel tool calls not recorded"),
    "gpt-oss-20b": ModelLife(ACTIVE, capabilities=frozenset({T, S, R}), note="as gpt-oss-120b (OpenAI model card)"),
    "qwen3.8-27b": ModelLife(ACTIVE, capabilities=frozenset({T, R}),
                             note="in genai-prices 0.2.3's Groq data; Groq's own page not checked"),
    "llama-3.3-70b": ModelLife(
        RETIRED, "2026-08-16", "gpt-oss-120b", frozenset({T, P}),
        note=GROQ_DEPRECATIONS + ": decommissioned 2026-08-16, replacement openai/gpt-oss-120b "
             "(as quoted by papi-ai/groq v0.15.2 and a commit-craft issue)"),
    "llama-3.1-8b": ModelLife(
        RETIRED, "2026-08-16", "gpt-oss-20b", frozenset({T}),
        note=GROQ_DEPRECATIONS + ": decommissioned 2026-08-16, replacement openai/gpt-oss-20b"),
    "mixtral-8x7b": ModelLife(
        RETIRED, "2025-03-20", "llama-3.3-70b", frozenset({T}),
        note=GROQ_DEPRECATIONS + ": decommissioned 2025-03-20; its successor is itself retired, so it "
             "resolves on to gpt-oss-120b"),
    # Ollama runs on the user's machine: nothing retires it. Ollama's `format` takes a JSON schema
    # for any model; tools only for models trained for them.
    "llama-3.2-3b": ModelLife(ACTIVE, capabilities=frozenset({T, S}), note="Ollama library"),
    "llama-3.1-70b": ModelLife(ACTIVE, capabilities=frozenset({T, S}), note="Ollama library"),
    "codellama-34b": ModelLife(ACTIVE, capabilities=frozenset({S}), note="Ollama library"),
    "deepseek-coder-33b": ModelLife(ACTIVE, capabilities=frozenset({S}), note="Ollama library"),
    "deepseek-chat": ModelLife(ACTIVE, capabilities=frozenset({T}),
                               note="no retirement found for OpenRouter's deepseek/deepseek-chat"),
}

_VIA_OR = "Via OpenRouter"
_VIA_GW = "Via Gateway"
_VERCEL_GUESS = "ID follows Vercel's creator/model pattern; not confirmed on a Vercel model page"

CATALOG: tuple[CatalogEntry, ...] = (
    # OpenAI: the current lineup first, then the seed's models.
    CatalogEntry("openai", "gpt-6-astra", "gpt-6-astra", H, "Hardest reasoning and coding", max_output=128_000),
    CatalogEntry("openai", "gpt-6.1-sol", "gpt-6.1-sol", M, "Everyday work, coding, agents", max_output=128_000),
    CatalogEntry("openai", "gpt-6.1-terra", "gpt-6.1-terra", M, "Visual reasoning, clear writing",
                 max_output=128_000),
    CatalogEntry("openai", "gpt-6-luna", "gpt-6-luna", L, "Fast, high-volume work", max_output=128_000),
    CatalogEntry("openai", "gpt-4o", "gpt-4o", M, "General purpose", max_output=16_384),
    CatalogEntry("openai", "gpt-4o-mini", "gpt-4o-mini", L, "Fast, cost-effective", max_output=16_384),
    CatalogEntry("openai", "gpt-4-turbo", "gpt-4-turbo", M, "Legacy compatibility", max_output=4_096),
    CatalogEntry("openai", "o3", "o3", H, "Reasoning, analysis", max_output=100_000),
    CatalogEntry("openai", "o4-mini", "o4-mini", M, "Reasoning (cheaper)", max_output=100_000),
    CatalogEntry("openai", "gpt-3.5-turbo", "gpt-3.5-turbo", L, "Simple tasks", max_output=4_096),
    # Anthropic: the seed's dated IDs are not accepted by the API; the real ones are.
    CatalogEntry("anthropic", "claude-fable-5-2", "claude-fable-5.2", H, "Demanding reasoning, long agent runs",
                 aliases=("claude-fable-5-2",), max_output=128_000),
    CatalogEntry("anthropic", "claude-opus-5-5", "claude-opus-5.5", H, "Complex reasoning, agentic coding",
                 aliases=("claude-opus-5-5",), max_output=128_000),
    CatalogEntry("anthropic", "claude-sonnet-5-5", "claude-sonnet-5.5", M, "Code, general",
                 aliases=("claude-sonnet-5-5",), max_output=128_000),
    CatalogEntry("anthropic", "claude-haiku-5-5", "claude-haiku-5.5", L, "Fast responses, routing, extraction",
                 aliases=("claude-haiku-5-5",), max_output=128_000),
    CatalogEntry("anthropic", "claude-opus-4-5-20251101", "claude-opus-4.5", H, "Complex reasoning",
                 aliases=("claude-opus-4-5", "claude-opus-4-5-20250219"), max_output=64_000),
    CatalogEntry("anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4.5", M, "Code, general",
                 aliases=("claude-sonnet-4-5", "claude-sonnet-4-5-20250219"), max_output=64_000),
    CatalogEntry("anthropic", "claude-haiku-4-5-20251001", "claude-haiku-4.5", L, "Fast responses",
                 aliases=("claude-haiku-4-5",), max_output=64_000),
    # Google AI (served through its OpenAI-compatible endpoint)
    CatalogEntry("google", "gemini-4-argon", "gemini-4-argon", H, "Frontier reasoning, long context",
                 max_output=65_536,
                 note="max output: 65,536 per Google Cloud's Gemini 4 guide; gateways list 32K to 1M"),
    CatalogEntry("google", "gemini-3.8-flash", "gemini-3.8-flash", M, "Fast, capable all-rounder",
                 max_output=65_536, approx=True, note="max output not confirmed for 3.8 Flash"),
    CatalogEntry("google", "gemini-3.5-flash-lite", "gemini-3.5-flash-lite", L, "Fast, cost-effective",
                 max_output=65_536, approx=True, note="max output not confirmed for 3.5 Flash-Lite"),
    CatalogEntry("google", "gemini-2.0-flash", "gemini-2.0-flash", L, "Fast, cost-effective", max_output=8_192),
    CatalogEntry("google", "gemini-1.5-pro", "gemini-1.5-pro", M, "General purpose", max_output=8_192),
    CatalogEntry("google", "gemini-1.5-flash", "gemini-1.5-flash", L, "Quick tasks", max_output=8_192),
    # Groq
    CatalogEntry("groq", "openai/gpt-oss-120b", "gpt-oss-120b", L, "Fast inference",
                 aliases=("openai/gpt-oss-120b",), max_output=65_536, approx=True,
                 note="max output: OpenAI's page gives 131,072 for the model; Groq's own limit not checked"),
    CatalogEntry("groq", "openai/gpt-oss-20b", "gpt-oss-20b", L, "Ultra-fast",
                 aliases=("openai/gpt-oss-20b",), max_output=65_536, approx=True,
                 note="max output: Groq's own limit not checked"),
    CatalogEntry("groq", "qwen/qwen3.8-27b", "qwen3.8-27b", M, "Fast reasoning",
                 aliases=("qwen/qwen3.8-27b",), approx=True),
    CatalogEntry("groq", "llama-3.3-70b-versatile", "llama-3.3-70b", L, "Fast inference",
                 aliases=("llama-3.3-70b-versatile",), context_window=131_072, max_output=32_768),
    CatalogEntry("groq", "llama-3.1-8b-instant", "llama-3.1-8b", L, "Ultra-fast",
                 aliases=("llama-3.1-8b-instant",), context_window=131_072, max_output=8_192),
    CatalogEntry("groq", "mixtral-8x7b-32768", "mixtral-8x7b", L, "Balanced",
                 aliases=("mixtral-8x7b-32768",), context_window=32_768, approx=True),
    # Ollama (local: runs on the user's machine, no per-token price)
    CatalogEntry("ollama", "llama3.2:3b", "llama-3.2-3b", L, "Fast local", aliases=("llama3.2:3b",),
                 context_window=128_000),
    CatalogEntry("ollama", "llama3.1:70b", "llama-3.1-70b", M, "Quality local", aliases=("llama3.1:70b",),
                 context_window=128_000),
    CatalogEntry("ollama", "codellama:34b", "codellama-34b", M, "Code local", aliases=("codellama:34b",),
                 context_window=16_000),
    CatalogEntry("ollama", "deepseek-coder:33b", "deepseek-coder-33b", M, "Code local",
                 aliases=("deepseek-coder:33b",), context_window=16_000),
    # OpenRouter (multi-provider); the seed's rows first.
    CatalogEntry("openrouter", "anthropic/claude-sonnet-4", "claude-sonnet-4", M, _VIA_OR, context_window=200_000),
    CatalogEntry("openrouter", "openai/gpt-4o", "gpt-4o", M, _VIA_OR),
    CatalogEntry("openrouter", "google/gemini-2.0-flash-exp:free", "gemini-2.0-flash-exp", L, _VIA_OR,
                 aliases=("google/gemini-2.0-flash-exp",), context_window=1_048_576, approx=True),
    CatalogEntry("openrouter", "deepseek/deepseek-chat", "deepseek-chat", L, "Budget option",
                 context_window=64_000, approx=True),
    # Gateway routes for every model the profiles' chains name, so a user with only a gateway key
    # gets every chain working.
    CatalogEntry("openrouter", "anthropic/claude-opus-5.5", "claude-opus-5.5", H, _VIA_OR, max_output=128_000),
    CatalogEntry("openrouter", "anthropic/claude-sonnet-5.5", "claude-sonnet-5.5", M, _VIA_OR,
                 max_output=128_000),
    CatalogEntry("openrouter", "anthropic/claude-haiku-5.5", "claude-haiku-5.5", L, _VIA_OR, max_output=128_000),
    CatalogEntry("openrouter", "openai/gpt-6-astra", "gpt-6-astra", H, _VIA_OR, max_output=128_000),
    CatalogEntry("openrouter", "openai/gpt-6.1-sol", "gpt-6.1-sol", M, _VIA_OR, max_output=128_000),
    CatalogEntry("openrouter", "openai/gpt-6-luna", "gpt-6-luna", L, _VIA_OR, max_output=128_000),
    CatalogEntry("openrouter", "google/gemini-3.8-flash", "gemini-3.8-flash", M, _VIA_OR),
    CatalogEntry("openrouter", "google/gemini-3.5-flash-lite", "gemini-3.5-flash-lite", L, _VIA_OR),
    CatalogEntry("openrouter", "openai/gpt-oss-120b", "gpt-oss-120b", L, _VIA_OR, context_window=131_072),
    CatalogEntry("openrouter", "openai/gpt-4o-mini", "gpt-4o-mini", L, _VIA_OR, max_output=16_384),
    CatalogEntry("openrouter", "anthropic/claude-sonnet-4.5", "claude-sonnet-4.5", M, _VIA_OR, max_output=64_000),
    CatalogEntry("openrouter", "anthropic/claude-opus-4.5", "claude-opus-4.5", H, _VIA_OR, max_output=64_000),
    CatalogEntry("openrouter", "anthropic/claude-haiku-4.5", "claude-haiku-4.5", L, _VIA_OR, max_output=64_000),
    CatalogEntry("openrouter", "openai/o3", "o3", H, _VIA_OR, max_output=100_000),
    CatalogEntry("openrouter", "google/gemini-2.0-flash-001", "gemini-2.0-flash", L, _VIA_OR,
                 context_window=1_048_576, max_output=8_192),
    # Vercel AI Gateway; the seed's rows, then the chains' models.
    CatalogEntry("vercel", "anthropic/claude-sonnet-4.5", "claude-sonnet-4.5", M, _VIA_GW,
                 aliases=("anthropic/claude-sonnet-4-5",), max_output=64_000),
    CatalogEntry("vercel", "openai/gpt-4o", "gpt-4o", M, _VIA_GW),
    CatalogEntry("vercel", "google/gemini-2.0-flash", "gemini-2.0-flash", L, _VIA_GW),
    CatalogEntry("vercel", "anthropic/claude-opus-5.5", "claude-opus-5.5", H, _VIA_GW, max_output=128_000,
                 approx=True, note=_VERCEL_GUESS),
    CatalogEntry("vercel", "anthropic/claude-sonnet-5.5", "claude-sonnet-5.5", M, _VIA_GW, max_output=128_000),
    CatalogEntry("vercel", "anthropic/claude-haiku-5.5", "claude-haiku-5.5", L, _VIA_GW, max_output=128_000,
                 approx=True, note=_VERCEL_GUESS),
    CatalogEntry("vercel", "openai/gpt-6-astra", "gpt-6-astra", H, _VIA_GW, max_output=128_000),
    CatalogEntry("vercel", "openai/gpt-6.1-sol", "gpt-6.1-sol", M, _VIA_GW, max_output=128_000,
                 approx=True, note=_VERCEL_GUESS),
    CatalogEntry("vercel", "openai/gpt-6-luna", "gpt-6-luna", L, _VIA_GW, max_output=128_000,
                 approx=True, note=_VERCEL_GUESS),
    CatalogEntry("vercel", "google/gemini-4-argon", "gemini-4-argon", H, _VIA_GW),
    CatalogEntry("vercel", "google/gemini-3.8-flash", "gemini-3.8-flash", M, _VIA_GW),
    CatalogEntry("vercel", "google/gemini-3.5-flash-lite", "gemini-3.5-flash-lite", L, _VIA_GW,
                 approx=True, note=_VERCEL_GUESS),
    CatalogEntry("vercel", "openai/gpt-4o-mini", "gpt-4o-mini", L, _VIA_GW, max_output=16_384),
    CatalogEntry("vercel", "anthropic/claude-opus-4.5", "claude-opus-4.5", H, _VIA_GW, max_output=64_000),
    CatalogEntry("vercel", "anthropic/claude-haiku-4.5", "claude-haiku-4.5", L, _VIA_GW, max_output=64_000),
    CatalogEntry("vercel", "openai/o3", "o3", H, _VIA_GW, max_output=100_000),
)

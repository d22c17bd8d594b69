"""Static facts about each provider: its wire protocol, key variables and default base URL."""

from __future__ import annotations

from dataclasses import dataclass

from .types import MesoclawError


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    id: str
    name: str
    protocol: str  # "openai" (chat completions), "anthropic" (messages), "ollama" (native NDJSON)
    key_envs: tuple[str, ...]  # conventional env vars holding the API key, first wins
    base_url_envs: tuple[str, ...]  # conventional env vars overriding the base URL
    default_base_url: str
    gateway: bool = False  # serves other vendors' models under "creator/model" IDs
    needs_key: bool = True

    @property
    def mesoclaw_base_url_env(self) -> str:
        return f"MESOCLAW_{self.id.upper()}_BASE_URL"


# Order matters: a canonical model resolves to its own vendor first, then to gateways in this order.
PROVIDERS: dict[str, ProviderInfo] = {
    p.id: p
    for p in (
        ProviderInfo("openai", "OpenAI", "openai", ("OPENAI_API_KEY",), ("OPENAI_BASE_URL",),
                     "https://api.openai.com/v1"),
        ProviderInfo("anthropic", "Anthropic", "anthropic", ("ANTHROPIC_API_KEY",), ("ANTHROPIC_BASE_URL",),
                     "https://api.anthropic.com"),
        # Google's keys: when both are set, GOOGLE_API_KEY wins (as in google-genai).
        ProviderInfo("google", "Google AI", "openai", ("GOOGLE_API_KEY", "GEMINI_API_KEY"), (),
                     "https://generativelanguage.googleapis.com/v1beta/openai"),
        ProviderInfo("groq", "Groq", "openai", ("GROQ_API_KEY",), (), "https://api.groq.com/openai/v1"),
        ProviderInfo("ollama", "Ollama", "ollama", (), ("OLLAMA_HOST",), "http://127.0.0.1:11434",
                     needs_key=False),
        ProviderInfo("openrouter", "OpenRouter", "openai", ("OPENROUTER_API_KEY",), (),
                     "https://openrouter.ai/api/v1", gateway=True),
        ProviderInfo("vercel", "Vercel AI Gateway", "openai", ("AI_GATEWAY_API_KEY",), (),
                     "https://ai-gateway.vercel.sh/v1", gateway=True),
    )
}


def provider_info(provider_id: str) -> ProviderInfo:
    try:
        return PROVIDERS[provider_id.strip().lower()]
    except KeyError:
        raise MesoclawError(
            f"unknown provider '{provider_id}' (choose one of: {', '.join(PROVIDERS)})"
        ) from None


def parse_ollama_host(value: str) -> str:
    """OLLAMA_HOST as Ollama itself reads it: no scheme -> http; bare host -> port 11434;
    http:// -> port 80, https:// -> port 443 unless given; a path suffix is kept."""
    value = value.strip().rstrip("/")
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "http", value
    host, slash, path = rest.partition("/")
    default_port = {"http": "80", "https": "443"}[scheme] if sep else "11434"
    if host == "ollama.com":
        scheme, default_port = "https", "443"
    if host.startswith("["):  # IPv6 in brackets
        end = host.find("]")
        name, port = host[: end + 1], host[end + 2 :] if host[end + 1 : end + 2] == ":" else ""
    else:
        name, _, port = host.partition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        port = default_port
    name = name or "127.0.0.1"
    return f"{scheme}://{name}:{port}" + (f"/{path}" if slash and path else "")


def no_provider_message(config_path: str | None = None) -> str:
    """What to do when nothing can serve: `mesoclaw setup`, every key variable, and Ollama's host;
    with config_path, where config.toml is."""
    envs = [env for p in PROVIDERS.values() for env in p.key_envs]
    return ("no provider is configured: run `mesoclaw setup`, or set one of " + ", ".join(envs)
            + " (or OLLAMA_HOST for a local Ollama), or add [providers.<id>] to " + (config_path or "config.toml"))

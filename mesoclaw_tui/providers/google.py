"""Google's native Gemini API, used only to list models: unlike the OpenAI-compatible list it
gives token limits and says which models can generate content."""

from __future__ import annotations

import httpx

from ._fields import limit
from ._http import get_json
from .base import Endpoint, ListedModel, ProviderError

_MAX_PAGES = 20  # a guard against a server that keeps returning the same page token


def native_base_url(base_url: str) -> str:
    """``…/v1beta/openai`` (the chat base) -> ``…/v1beta`` (the native API)."""
    base = base_url.rstrip("/")
    return base.removesuffix("/openai")


async def list_models(client: httpx.AsyncClient, endpoint: Endpoint, *, timeout: float = 5.0) -> list[ListedModel]:
    url = native_base_url(endpoint.base_url) + "/models"
    headers = {"x-goog-api-key": endpoint.api_key} if endpoint.api_key else {}
    params = {"pageSize": "1000"}
    models: list[ListedModel] = []
    for _ in range(_MAX_PAGES):
        payload = await get_json(client, endpoint, url, headers=headers, params=params, timeout=timeout)
        entries = payload.get("models", []) if isinstance(payload, dict) else None
        if not isinstance(entries, list):
            raise ProviderError("server", f"unexpected model list from {url}", provider=endpoint.provider)
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            # Embedding, image and video models are listed too; only generateContent ones can chat.
            if "generateContent" not in (entry.get("supportedGenerationMethods") or ()):
                continue
            models.append(ListedModel(
                entry["name"].removeprefix("models/"),
                limit(entry.get("inputTokenLimit")),
                limit(entry.get("outputTokenLimit")),
            ))
        token = payload.get("nextPageToken")
        if not token or token == params.get("pageToken"):
            break
        params = {"pageSize": "1000", "pageToken": token}
    return models

"""Test doubles that run for real: a fake LLM-provider HTTP server (see provider_server)."""

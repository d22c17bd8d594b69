"""Saving what is already there changes nothing, and nothing is lost by saving (issue 11, items 2 and 6):
a custom route equal to the profile's chain is no custom route (the task keeps following the profile),
and adding a user model twice is refused rather than wiping the fields not given again."""

from __future__ import annotations

import json

from mesoclaw_tui.core.profiles import chain_for
from mesoclaw_tui.core.types import RoutingProfile, TaskType
from mesoclaw_tui.service import RouterService
from mesoclaw_tui.tui.app import MesoclawApp
from tests.tui_helpers import no_unexpected_errors, screen_text, settle, wait_for

BALANCED_CODE = ",".join(chain_for(RoutingProfile.BALANCED, TaskType.CODE))
ECO_CODE = list(chain_for(RoutingProfile.ECO, TaskType.CODE))


def toasts(app: MesoclawApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def data_version_and_routes() -> tuple[str, dict]:
    async with await RouterService.open(None) as service:
        config = await service.get_router_config()
        return config.updated_at, {t.value: list(r) for t, r in config.custom_routes.items()}


async def test_enter_in_the_chain_editor_without_a_change_saves_nothing() -> None:
    before = await data_version_and_routes()
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        await pilot.press("e")  # code: the editor shows balanced's chain
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt", what="the editor")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RouterScreen", what="the table")
        await settle(app, pilot)
        assert "profile's own chain, nothing saved" in toasts(app)
        assert "custom chain" not in str(app.screen.query_one("#tasks").get_row_at(0))
        # so the profile still decides: eco's chain for code, not balanced's pinned as a custom route
        await pilot.press("ctrl+r")  # balanced -> premium
        await pilot.press("ctrl+r")  # premium -> eco
        await settle(app, pilot)
        assert app.screen.views["code"]["custom_route"] is None
        assert [e["model"] for e in app.screen.views["code"]["chain"]][:len(ECO_CODE)] == ECO_CODE
        no_unexpected_errors(app)
    assert (await data_version_and_routes())[1] == {} == before[1]


async def test_saving_an_unchanged_custom_route_writes_nothing() -> None:
    async with await RouterService.open(None) as service:
        await service.set_custom_route("code", ["gpt-6-astra", "gpt-6-luna"])
    stamp, _ = await data_version_and_routes()
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+o")
        await settle(app, pilot)
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "TextPrompt", what="the editor")
        assert app.screen.query_one("#value").value == "gpt-6-astra, gpt-6-luna"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RouterScreen", what="the table")
        await settle(app, pilot)
        assert "custom route unchanged, nothing saved" in toasts(app)
        no_unexpected_errors(app)
    assert await data_version_and_routes() == (stamp, {"code": ["gpt-6-astra", "gpt-6-luna"]})  # not written


async def test_the_service_rule_writes_no_row_for_a_change_that_changes_nothing() -> None:
    async with await RouterService.open(None) as service:
        first = await service.set_custom_route("code", ["gpt-6-astra", "gpt-6-luna"])
        stamp = (await service.store.read_router_config()).updated_at
        again = await service.set_custom_route("code", ["gpt-6-astra", " gpt-6-luna"])
        assert (first.outcome, again.outcome) == ("saved", "unchanged")
        assert (await service.store.read_router_config()).updated_at == stamp
        cleared = await service.set_custom_route("code", BALANCED_CODE.split(","))
        assert cleared.outcome == "cleared" and (await service.get_router_config()).custom_routes == {}


def test_router_chain_set_behaves_the_same(cli) -> None:
    r = cli("router", "chain", "code", "--set", BALANCED_CODE)
    assert r.code == 0 and "that is the balanced profile's own chain, nothing saved" in r.out
    assert json.loads(cli("router", "chain", "code", "--json").out)["custom_route"] is None
    r = cli("router", "chain", "code", "--set", "gpt-6-astra,gpt-6-luna", "--json")
    assert json.loads(r.out)["change"] == "saved"
    r = cli("router", "chain", "code", "--set", "gpt-6-astra,gpt-6-luna", "--json")
    assert json.loads(r.out)["change"] == "unchanged"
    r = cli("router", "chain", "code", "--set", BALANCED_CODE)
    assert "so the custom route was removed" in r.out
    assert json.loads(cli("router", "chain", "code", "--json").out)["custom_route"] is None
    cli("router", "profile", "set", "eco")  # and the task follows the profile again
    chain = json.loads(cli("router", "chain", "code", "--json").out)["chain"]
    assert [e["model"] for e in chain][:len(ECO_CODE)] == ECO_CODE


def test_adding_a_user_model_twice_is_refused_and_keeps_its_fields(cli) -> None:
    args = ("router", "models", "add", "openrouter", "mistralai/mistral-large")
    assert cli(*args, "--tier", "medium", "--price-in", "2", "--price-out", "6").code == 0
    r = cli(*args, "--tier", "high")
    assert r.code == 2 and r.err.count("\n") == 1
    assert "was added before" in r.err and "models update" in r.err and "--replace" in r.err

    def mine() -> dict:
        rows = json.loads(cli("router", "models", "--provider", "openrouter", "--json").out)
        return next(row for row in rows if row["model"] == "mistralai/mistral-large")

    assert (mine()["cost_tier"], mine()["input_price"], mine()["output_price"]) == ("medium", 2.0, 6.0)
    r = cli("router", "models", "update", "openrouter", "mistralai/mistral-large", "--tier", "high")
    assert r.code == 0 and r.out.startswith("updated the tier of openrouter:mistralai/mistral-large, kept the rest")
    assert (mine()["cost_tier"], mine()["input_price"], mine()["output_price"]) == ("high", 2.0, 6.0)
    r = cli("router", "models", "update", "openrouter", "mistralai/mistral-large", "--tier", "high", "--json")
    assert json.loads(r.out)["changed"] == []
    r = cli("router", "models", "update", "openrouter", "mistralai/mistral-large", "--price-out", "-1")
    assert r.code == 2 and mine()["output_price"] == 6.0
    r = cli(*args, "--tier", "low", "--replace")  # the whole model again, as asked
    assert r.code == 0 and r.out.startswith("replaced")
    assert mine()["cost_tier"] == "low" and mine()["price_source"] != "user"
    r = cli("router", "models", "update", "openrouter", "mistralai/other", "--tier", "low")
    assert r.code == 2 and "user-added models: openrouter:mistralai/mistral-large" in r.err


async def test_the_add_model_form_refuses_a_model_added_before() -> None:
    async with await RouterService.open(None) as service:
        await service.add_user_model("openai", "my-model", "low", input_price=1, output_price=2)
    app = MesoclawApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("ctrl+f")
        await settle(app, pilot)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "AddModelForm", what="the form")
        await pilot.press(*"my-model", "enter")
        await pilot.pause()
        assert "was added before" in screen_text(app)
        no_unexpected_errors(app)
    async with await RouterService.open(None) as service:
        (row,) = await service.store.list_user_models()
        assert (row["cost_tier"], row["input_price"]) == ("low", 1)

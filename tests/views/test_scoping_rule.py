"""The one scoping rule: users of a division walk every page and API list of the application while every query
is watched; each query that lists or counts a division's records must have been built by scoped() (or be marked
by unscoped() with the reason). The world and the routes are those of the access matrix."""

from __future__ import annotations

import pytest
from access_matrix import PERSONAS
from scope_check import watching_scope
from test_access_matrix import PROBES, ROUTES, World, _read, _rule_object, ask_route, client_for, world  # noqa: F401

#: Division-bound users: division A's own (they open A's records, with every list hanging off them) and the
#: cable division's (refused A's records, shown their own lists).
WALKERS = ("reporter", "division_qa", "other_reporter", "other_division_qa")


@pytest.mark.parametrize("walker", WALKERS)
def test_every_list_a_division_user_sees_is_built_by_scoped(world: World, walker: str) -> None:  # noqa: F811
    persona = next(p for p in PERSONAS if p.name == walker)
    with watching_scope() as watch:
        for rule_text, method, _ in ROUTES:
            if method != "GET":
                continue
            response = ask_route(world, persona, method, _rule_object(world, rule_text, method))
            assert response.status_code < 500, rule_text
        for probe in PROBES:
            path = probe.format(**world.args)
            if path.startswith("/api/"):
                token = world.tokens[walker]
                response = _read(world.app.test_client().get(path, headers={"Authorization": f"Bearer {token}"}))
            else:
                response = _read(client_for(world, persona).get(path))
            assert response.status_code < 500, path
    unscoped = sorted({u.where(): str(u) for u in watch.found}.values())  # one per place in the code
    assert not unscoped, f"{len(unscoped)} queries over a division's records without scoped():\n" + "\n".join(unscoped)

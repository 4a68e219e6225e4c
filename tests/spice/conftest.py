from pathlib import Path

import pytest

from circuitsim.spice.netlist import Netlist, render_deck
from circuitsim.spice.session import SpiceSession

pytestmark = pytest.mark.spice


@pytest.fixture(scope="session")
def session():
    return SpiceSession.shared()


@pytest.fixture
def load(session, sky130):
    """load(text, corner='tt', temp=None, mismatch=False) renders an inline netlist and loads it."""

    def _load(text, corner="tt", temp=None, mismatch=False, name="inline"):
        deck = render_deck(Netlist(name, Path(f"{name}.cir"), text), sky130, corner, temp, mismatch=mismatch)
        session.load(deck, name=name)
        return session

    return _load

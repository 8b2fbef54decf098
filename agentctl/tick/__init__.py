"""The tick: advance the research cycle by exactly one step.

Where a tick decides: `core.Tick._step` reads the active cycle's phase and hands
it to one routine (start a cycle, poll its lab operation through the table in
`stages.py`, or assess). State changes and the trigger row that explains them
commit together (`finish.py` ends a cycle in one transaction), so a process
killed on any line leaves either the old state or the new one, never half of each.

Polling imports nothing heavy: the agent (anthropic) and the lab's training code
(pandas, scikit-learn, TA-Lib) are imported only on the paths that use them.
"""

from typing import TYPE_CHECKING, Any

from agentctl.store.cycles import TICK_LOCK_KEY
from agentctl.tick.core import Tick
from agentctl.tick.result import TickResult

if TYPE_CHECKING:
    from agentctl.tick.cancel import cancel_active

__all__ = ["TICK_LOCK_KEY", "Tick", "TickResult", "cancel_active"]


def __getattr__(name: str) -> Any:
    # `cancel` is its own command: a tick does not load it.
    if name == "cancel_active":
        from agentctl.tick.cancel import cancel_active

        return cancel_active
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

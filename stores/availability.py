"""No silent in-memory fallback, and readiness: the model, the tracker and lock stores.

Rasa 3.6 wraps the tracker store in a `FailSafeTrackerStore`. When the database cannot be
reached, that wrapper logs "Falling back to use the 'InMemoryTrackerStore'", starts the
conversation afresh and keeps it in one process's memory, lost on restart and split
between processes. :func:`refuse_in_memory_fallback` rebuilds the wrapper with an error
callback (its public constructor) that raises instead: the turn fails, the channel's
safety net gives the patient the phone hand-off, the log says what is wrong, and the
next message tries the database again. Reaching the wrapped store uses a private
attribute of Rasa's, so it is checked against the Rasa version it was written for.
"""

from __future__ import annotations

import logging
from typing import Any, List

import rasa
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore

logger = logging.getLogger(__name__)

WRITTEN_FOR = "3.6.21"
# A conversation id no patient has (ids are at most 128 characters of the widget's kind).
PROBE_SENDER = "__readiness_probe__"


class TrackerStoreUnavailable(RuntimeError):
    """The tracker store could not be reached: the patient gets the phone hand-off."""


def _unavailable(error: Exception) -> None:
    logger.error(
        "The tracker store cannot be reached (%s: %s). Patients get the phone hand-off "
        "until it is back; nothing is kept in memory instead.",
        type(error).__name__,
        str(error).splitlines()[0] if str(error) else "",
    )
    raise TrackerStoreUnavailable(type(error).__name__) from error


class StrictTrackerStore(FailSafeTrackerStore):
    """Rasa's fail-safe wrapper whose error callback raises: no in-memory fallback."""

    def __init__(self, tracker_store: TrackerStore) -> None:
        """Wrap `tracker_store` (the database store itself)."""
        super().__init__(tracker_store, on_tracker_store_error=_unavailable)


def refuse_in_memory_fallback(agent: Any) -> bool:
    """Make the agent's tracker store strict (also for models loaded later); False if it
    cannot be, with a warning (another Rasa version)."""
    store = agent.tracker_store
    if isinstance(store, StrictTrackerStore) or not isinstance(store, FailSafeTrackerStore):
        return True
    wrapped = getattr(store, "_tracker_store", None)  # private in Rasa 3.6: version-checked
    if rasa.__version__ != WRITTEN_FOR or not isinstance(wrapped, TrackerStore):
        logger.warning(
            "Rasa %s (not %s): its in-memory fallback of the tracker store stays on. "
            "Check stores/availability.py against this version.", rasa.__version__, WRITTEN_FOR,
        )
        return False
    strict = StrictTrackerStore(wrapped)
    agent.tracker_store = strict
    if agent.processor is not None:
        agent.processor.tracker_store = strict
    return True


async def readiness_problems(agent: Any) -> List[str]:
    """What stops the assistant from answering now; empty when it is ready."""
    if agent is None or not agent.is_ready():
        return ["no model is loaded"]
    problems = []
    if not isinstance(agent.tracker_store, StrictTrackerStore):
        problems.append("the tracker store would fall back to memory")
    try:
        await agent.tracker_store.retrieve(PROBE_SENDER)
    except Exception as error:  # noqa: BLE001 (any failure means not ready)
        problems.append(f"the tracker store cannot be reached ({type(error).__name__})")
    try:
        agent.lock_store.get_lock(PROBE_SENDER)
    except Exception as error:  # noqa: BLE001
        problems.append(f"the lock store cannot be reached ({type(error).__name__})")
    return problems

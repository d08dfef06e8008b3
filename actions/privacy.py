"""The privacy notice the chat shows when it first opens, before the patient types."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from core.settings import settings


class ActionPrivacyNotice(Action):
    """`utter_privacy_notice` with how long conversations are kept and where to read more."""

    def name(self) -> str:
        """The action's name in the domain."""
        return "action_privacy_notice"

    def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: Dict[str, Any],
    ) -> List[Dict[str, Any]]:
        """Send the notice filled in with RETENTION_DAYS and PRIVACY_URL."""
        current = settings()
        dispatcher.utter_message(
            response="utter_privacy_notice",
            retention_days=current.retention_days,
            privacy_url=current.privacy_url,
        )
        return []

"""Events: the App Home tab."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import handlers
from bot.slack.handlers import Edge


def register(app: App, edge: Edge) -> None:
    @app.event("app_home_opened")
    def home(event: dict, body: dict, client: WebClient) -> None:
        if event.get("tab") not in (None, "home"):
            return
        if not edge.first_time(f"event:{body.get('event_id')}"):
            return
        client.views_publish(user_id=event["user"], view=handlers.home_view(edge, event["user"]))

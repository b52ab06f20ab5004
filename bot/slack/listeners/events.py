"""Events: the App Home tab."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack import handlers
from bot.slack.handlers import Edge, request_key


def register(app: App, edge: Edge) -> None:
    @app.event("app_home_opened")
    def home(ack: Ack, event: dict, body: dict, client: WebClient) -> None:
        ack()
        if event.get("tab") not in (None, "home"):
            return

        def publish() -> None:
            if edge.first_time(request_key("event", body.get("event_id"))):
                user = event["user"]
                client.views_publish(user_id=user, view=handlers.home_view(edge, user))

        edge.after(publish)

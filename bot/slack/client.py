"""The Web API client every part of slabot uses, and the check of its token at start-up.

Apart from the Bolt app (bot/slack/app.py), so the worker, which posts but serves nothing,
starts without importing Bolt and the listeners.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.metrics import record_slack_error
from config.settings import Settings, SettingsError

log = logging.getLogger(__name__)


class MeteredWebClient(WebClient):
    """A ``WebClient`` that counts every failed call in ``slabot_slack_api_errors_total``
    (bot/metrics.py): Slack's error code, else ``http_<status>``, else the connection
    error's type. Every Web API call of every method goes through ``api_call``, so this is
    the one place they are counted."""

    def api_call(self, api_method: str, **kwargs):  # type: ignore[override]
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error = data.get("error") or f"http_{exc.response.status_code}"
            record_slack_error(api_method, str(error))
            raise
        except OSError as exc:  # timeouts, refused connections
            record_slack_error(api_method, type(exc).__name__)
            raise


def make_client(
    settings: Settings,
    *,
    retry_rate_limits: bool = True,
    retry_connection_errors: bool = True,
    timeout: int = 10,
) -> WebClient:
    """A Web API client on ``SLACK_API_URL``. The worker handles 429s and connection errors
    itself (it moves the reminder by Retry-After instead of blocking, and checks the channel
    before posting again), so it asks for no retries."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    handlers = []
    if retry_connection_errors:
        handlers.append(ConnectionErrorRetryHandler(max_retry_count=1))
    if retry_rate_limits:
        handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    return MeteredWebClient(
        token=token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=handlers
    )


BAD_TOKEN = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
"""What Slack answers to a bot token it will never accept."""


def check_bot_token(client: WebClient) -> dict | None:
    """The bot's identity (auth.test): a token Slack refuses stops start-up with a one-line
    ``SettingsError``; a Slack that is down, slow or rate limiting only warns (``None``), so
    a deployment made during a Slack incident still starts and serves when Slack is back."""
    try:
        who = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
        if error in BAD_TOKEN:
            raise SettingsError(
                f"SLACK_BOT_TOKEN: Slack refused it ({error}); set the app's Bot User "
                "OAuth Token (xoxb-…) from OAuth & Permissions"
            ) from None
        log.warning(
            "Slack did not confirm the bot token (HTTP %s, %s); serving anyway",
            exc.response.status_code, error,
        )  # fmt: skip
        return None
    except OSError as exc:
        log.warning("Slack is not reachable (%s); serving anyway", type(exc).__name__)
        return None
    return dict(who.data) if isinstance(who.data, dict) else None

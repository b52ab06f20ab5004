"""The Slack side of alerts: the declared incident's channel and card (the ``declaration``
task, ``bot.slack.declaration``), the notes in the announce channel, the restore said in
the incident's channel, the "declare?" message."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.alerts.service import QUESTION
from bot.context import Context
from bot.incidents.views import IncidentView
from bot.slack import blocks, declaration
from bot.slack.channels import SLACK_FAILURES, IncidentChannels, why
from bot.slack.delivery import Posted
from bot.slack.mrkdwn import escape
from bot.tasks.registry import Done, Failed, Retry, TaskRun, handles
from bot.text import format_local, plural
from config.settings import Settings

log = logging.getLogger(__name__)

DECLARE_ACTION = "alert_declare"
"""The ``action_id`` of the "declare?" message's button (its value: the proposal's id)."""


@dataclass
class SlackAnnouncer:
    ctx: Context
    settings: Settings
    channels: IncidentChannels

    def declare(self, ctx: Context, also, **fields) -> IncidentView:
        """The incident and its ``declaration`` task in one transaction (so a crash, or Slack
        down, leaves the worker to open its channel), the task done here at once, and the
        outcome said in ``SLABOT_ANNOUNCE_CHANNEL`` (where a worker resuming it says it too)."""
        announce = self.settings.announce_channel
        declared = declaration.declare(ctx, **fields, notice_channel=announce, also=also)
        view, outcome = declaration.run(ctx, self.channels.client, self.settings, declared)
        if announce:
            note = f"from {fields.get('source', 'an alert')}"
            self._post(announce, blocks.with_note(declaration.outcome_message(view, outcome), note))
        return view

    def restored(self, view: IncidentView, source: str) -> None:
        at = format_local(view.restored_at, "UTC") if view.restored_at else "now"
        text = (
            f"✅ {escape(view.ref)}: {escape(source)} says its alerts resolved; service is "
            f"marked restored at {at}. A person still resolves it: `/incident resolve {view.ref}`."
        )
        channel = view.channel_id or self.settings.announce_channel
        if channel:
            self._post(channel, blocks.reply(text))

    def proposed(self, task_id: int | None) -> None:
        from bot.tasks.service import run_now

        if task_id is not None:
            run_now(self.ctx, self.channels.client, self.settings, task_id)

    def settled(self, proposal: dict, text: str) -> None:
        channel, ts = self.settings.announce_channel, proposal.get("message_ts")
        if not channel or not ts:
            return
        message = blocks.reply(f"~{escape(proposal.get('title', 'an alert'))}~: {text}.")
        try:
            self.channels.client.chat_update(channel=channel, ts=ts, **message.as_kwargs())
        except SLACK_FAILURES as exc:
            log.warning("could not update a declare? message: %s", why(exc))

    def _post(self, channel: str, message: blocks.Message) -> str | None:
        try:
            return self.channels.post(channel, message)
        except SLACK_FAILURES as exc:
            log.warning("could not post in %s: %s", channel, why(exc))
            return None


def declare_question(anchor_id: int, proposal: dict) -> blocks.Message:
    """ "Declare?": what the alert would declare, and the button that does."""
    from slack_sdk.models.blocks import ActionsBlock, ButtonElement

    alerts = proposal.get("alerts", 1)
    customers = ", ".join(proposal.get("customers") or []) or "no customer in particular"
    text = (
        f"🔔 {escape(proposal['source'])}: *{escape(proposal['title'])}* is firing "
        f"({plural(alerts, 'alert')}, since {proposal['started_at'][:16]}Z). "
        f"Declare it as Sev {proposal['severity']} for {escape(customers)}?"
    )
    button = ButtonElement(
        text="Declare", action_id=DECLARE_ACTION, value=str(anchor_id), style="danger"
    )
    return blocks.Message(
        text=text,
        blocks=[
            blocks.section(text),
            ActionsBlock(block_id=f"alert:{anchor_id}", elements=[button]),
        ],
    )


@handles(QUESTION)
def ask(run: TaskRun) -> Done | Retry | Failed:
    """Post an alert's "declare?" question in ``SLABOT_ANNOUNCE_CHANNEL``, once (a repeat
    finds it by its key), and keep its message with the proposal."""
    from bot.alerts import service as alerts

    anchor_id = run.payload["anchor_id"]
    proposal = alerts.proposal_of(run.ctx, anchor_id)
    if proposal is None:
        return Failed("the alert is no longer known")
    channel = run.settings.announce_channel
    if not channel:
        log.warning("an alert asks to be declared, but SLABOT_ANNOUNCE_CHANNEL is not set")
        return Failed("SLABOT_ANNOUNCE_CHANNEL is not set")
    outcome = run.delivery.deliver(
        channel, declare_question(anchor_id, proposal), run.task.dedupe_key,
        check_first=run.task.attempts > 1, since=run.task.created_at,
    )  # fmt: skip
    if not isinstance(outcome, Posted):
        return outcome
    if outcome.ts:
        alerts.remember_message(run.ctx, anchor_id, outcome.ts)
    return Done({"channel": channel, "ts": outcome.ts})

"""``slabot console``: the product in a terminal, on a local workspace instead of Slack.

``render`` turns what the bot posts (Block Kit, mrkdwn) into terminal text; ``session``
runs the real Bolt app, services and worker against ``LoopbackSlack`` and reads commands.
"""

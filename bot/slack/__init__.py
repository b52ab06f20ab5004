"""The Slack edge: the Bolt app, its listeners, and the clients that talk to Slack."""

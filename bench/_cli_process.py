"""The process ``bench/report.py`` measures as ``cli``: ``slabot report --period 2026 --format
json``, exactly as the console script runs it, except that the clock reads the benchmark's now.

    python bench/_cli_process.py CODE DATABASE_URL CUSTOMERS_FILE NOW [--older] > report.json

``--older``: CODE is an older checkout (``bench/report.py --before``), whose schema check
would refuse the newer schema the benchmark wrote; the check (a few milliseconds) is
skipped for it. Nothing else is imported first (the benchmark's own imports would be measured with it, and
with the garbage collector running where ``slabot report`` pauses it).
"""

import datetime as dt
import os
import sys

code, url, customers, now = sys.argv[1:5]
sys.path.insert(0, code)
os.environ.update(DATABASE_URL=url, SLABOT_CUSTOMERS_FILE=customers)

import bot.clock  # noqa: E402  (light: the standard library only)

bot.clock.SystemClock.now = lambda self: dt.datetime.fromisoformat(now)  # as tests set the clock

if "--older" in sys.argv[5:]:
    import storage.db  # imported by the command anyway

    storage.db.Database.ensure_schema = lambda self: None

from bot.cli import main  # noqa: E402

main(["report", "--period", "2026", "--format", "json"])

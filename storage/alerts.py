"""The alert keys slabot took in (``AlertKey``): claimed for an incident or a "declare?"
proposal, found again, released. What to do with them is ``bot.alerts.service``'s."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlmodel import Session

from storage.models import AlertKey, Incident
from storage.queries import insert_new


def live(session: Session, claims: Sequence[str]) -> list[AlertKey]:
    """The rows holding these claims, locked, in id order; those of a resolved incident are
    released (the outage they belonged to is over) and left out."""
    rows = list(
        session.scalars(
            select(AlertKey)
            .where(AlertKey.claim.in_(claims))
            .order_by(AlertKey.id)
            .with_for_update()
        )
    )
    if not rows:
        return []
    incident_ids = {r.incident_id for r in rows if r.incident_id is not None}
    over = set(
        session.scalars(
            select(Incident.id).where(
                Incident.id.in_(incident_ids), Incident.resolved_at.is_not(None)
            )
        )
    )
    kept = []
    for row in rows:
        if row.incident_id in over:
            row.claim = None
        else:
            kept.append(row)
    session.flush()
    return kept


def history(
    session: Session, source: str, keys: Sequence[str]
) -> list[tuple[str, dt.datetime, str | None, dt.datetime | None]]:
    """Every row of these alert keys (not groups') as ``(key, started_at, claim, resolved_at
    of its incident)``."""
    return [
        tuple(row)
        for row in session.execute(
            select(AlertKey.key, AlertKey.started_at, AlertKey.claim, Incident.resolved_at)
            .outerjoin(Incident, Incident.id == AlertKey.incident_id)
            .where(AlertKey.source == source, AlertKey.key.in_(keys), AlertKey.is_group.is_(False))
        )
    ]


def claim(session: Session, rows: Sequence[dict]) -> set[str]:
    """Write these rows, each claiming its ``claim``; the keys of those written (a claim
    another delivery holds is left to it)."""
    inserted = session.execute(
        insert_new(session, AlertKey, list(rows), unique=["claim"]).returning(AlertKey.key)
    )
    return set(inserted.scalars())


def claim_anchor(session: Session, row: dict) -> int | None:
    """Write an anchor row (its own ``anchor_id``) claiming its ``claim``; its id, or
    ``None`` when another delivery holds that claim."""
    anchor_id = session.execute(
        insert_new(session, AlertKey, row, unique=["claim"]).returning(AlertKey.id)
    ).scalar()
    if anchor_id is not None:
        session.execute(
            update(AlertKey).where(AlertKey.id == anchor_id).values(anchor_id=anchor_id)
        )
    return anchor_id


def lock_anchors_of(session: Session, claims: Sequence[str]) -> None:
    """Lock the anchors of the rows holding these claims, in id order (as a firing delivery
    locks them: its group's key is its first row)."""
    anchors = set(session.scalars(select(AlertKey.anchor_id).where(AlertKey.claim.in_(claims))))
    session.scalars(
        select(AlertKey.id).where(AlertKey.id.in_(anchors)).order_by(AlertKey.id).with_for_update()
    ).all()


def held(session: Session, anchor_id: int) -> list[AlertKey]:
    """The alert rows (not the group's) of an anchor that still hold their claims."""
    return list(
        session.scalars(
            select(AlertKey).where(
                AlertKey.anchor_id == anchor_id,
                AlertKey.claim.is_not(None),
                AlertKey.is_group.is_(False),
            )
        )
    )


def release(session: Session, anchor_id: int) -> None:
    """Release every claim of an anchor's rows (a proposal settled)."""
    session.execute(update(AlertKey).where(AlertKey.anchor_id == anchor_id).values(claim=None))


def give(session: Session, anchor_id: int, incident_id: int) -> None:
    """The claimed rows of an anchor now belong to this incident (a proposal declared)."""
    session.execute(
        update(AlertKey)
        .where(AlertKey.anchor_id == anchor_id, AlertKey.claim.is_not(None))
        .values(incident_id=incident_id)
    )

"""Every kind of input that can be quarantined, by kind (``housedesk quarantine`` and
``/healthz`` read them all)."""

from __future__ import annotations

from core.messaging.inbox import UpdateQuarantine
from core.messaging.quarantine import Quarantine

QUARANTINES: dict[str, Quarantine] = {q.kind: q for q in (UpdateQuarantine(),)}

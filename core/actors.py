"""Who did something: a person, or a named part of the system."""

from __future__ import annotations

from dataclasses import dataclass

from core.storage.models import Person


@dataclass(frozen=True)
class Actor:
    """The author of a change, recorded on every timeline event."""

    label: str
    person: Person | None = None

    @classmethod
    def of(cls, person: Person) -> Actor:
        """The actor for a known person."""
        return cls(label=person.name, person=person)

    @classmethod
    def system(cls, part: str = "system") -> Actor:
        """An automatic actor such as ``outbox`` or ``scheduler``."""
        return cls(label=part)


CLI = Actor.system("cli")

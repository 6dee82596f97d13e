"""The lines an entry configures: one per sub-entry (no part of the runtime imported)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from ..const import CONF_LINE_NAME, CONF_USER_ID, SUBENTRY_TYPE_LINE


@dataclass(slots=True)
class LineConfig:
    """A phone line as configured by a sub-entry.

    One object per line for the life of the entry: a rename changes ``name`` in place, so
    every entity and action holding the line sees the new name.
    """

    user_id: int
    name: str
    subentry_id: str

    @classmethod
    def from_subentry(cls, subentry: ConfigSubentry) -> LineConfig:
        """Read a line sub-entry: its title is the line's name.

        The sub-entry flow sets title and data name alike; Home Assistant's ⋮ > Rename
        changes the title only (the update listener then brings the data name along).
        """
        return cls(
            user_id=int(subentry.data[CONF_USER_ID]),
            name=str(subentry.title or subentry.data.get(CONF_LINE_NAME) or ""),
            subentry_id=subentry.subentry_id,
        )


def configured_lines(entry: ConfigEntry) -> dict[int, LineConfig]:
    """Return the lines an entry's sub-entries configure, by userId."""
    lines = (
        LineConfig.from_subentry(subentry)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_TYPE_LINE
    )
    return {line.user_id: line for line in lines}

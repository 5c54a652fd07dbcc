"""The data dictionary: what the outcome and each input mean, in words and units.

People write it in the card spec (``data_dictionary:``); the card prints it, and the demos
use it for help texts, the words beside a prediction and the allowed range of a number::

    data_dictionary:
      outcome:
        description: Whether the person was released with a summons.
        classes:
          "Yes": released with a summons       # who has this outcome, as a phrase
          "No": held for a bail hearing
      inputs:
        age: {description: Age at arrest, unit: years, range: [12, 100]}
        checks: {description: Police databases the name appeared in, range: [0, 6]}
        employed: {description: Had a job at the time of arrest, levels: ["Yes", "No"]}

An input's ``range`` is the allowed range: a number outside it is refused with the range
(values outside the training range but inside the allowed one are warned about).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

if TYPE_CHECKING:  # pragma: no cover
    from ._registry import LoadedModel


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputEntry(_Strict):
    """One input in words.

    Attributes:
        description: What the input is, in a sentence.
        unit: Its unit ("years", "EUR"), if it has one.
        range: The allowed range ``[low, high]`` of a number; a value outside is refused.
        levels: The values a category may take, in the order to offer them.
    """

    description: str | None = None
    unit: str | None = None
    range: tuple[float, float] | None = None
    levels: list[str] | None = None

    @field_validator("range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None:
            low, high = value
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ValueError(f"range must be two finite numbers [low, high], got {value}")
        return value


class OutcomeEntry(_Strict):
    """The outcome in words.

    Attributes:
        description: What the model predicts, in a sentence.
        classes: Each class's meaning, as a phrase about the people who have it
            (``"Yes": released with a summons``).
    """

    description: str | None = None
    classes: dict[str, str] = {}


class DataDictionary(_Strict):
    """The outcome and the inputs in words.

    Attributes:
        outcome: The outcome, if described.
        inputs: The described inputs by name.
    """

    outcome: OutcomeEntry | None = None
    inputs: dict[str, InputEntry] = {}

    @model_validator(mode="after")
    def _levels_or_range(self) -> DataDictionary:
        for name, entry in self.inputs.items():
            if entry.range is not None and entry.levels is not None:
                raise ValueError(f"input {name!r}: give a range (numbers) or levels, not both")
        return self

    def entry(self, name: str) -> InputEntry | None:
        """One input's entry, or None when the dictionary does not describe it.

        Args:
            name: The input's name.
        """
        return self.inputs.get(name)

    def class_phrase(self, label: object) -> str | None:
        """What a class means, as a phrase about its people, or None.

        Args:
            label: The class label.

        >>> d = DataDictionary(outcome={"classes": {"Yes": "released with a summons"}})
        >>> d.class_phrase("Yes")
        'released with a summons'
        """
        if self.outcome is None:
            return None
        return self.outcome.classes.get(str(label))


def data_dictionary(model: LoadedModel) -> DataDictionary:
    """The data dictionary written in a version's stored card spec (empty when none).

    Args:
        model: The loaded version.
    """
    spec = model.card_spec or {}
    raw = spec.get("data_dictionary")
    if not raw:
        return DataDictionary()
    return DataDictionary.model_validate(raw)

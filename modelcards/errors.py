"""Domain errors. Each says what is wrong, where, and how to fix it.

The CLI prints ``str(error)`` (the cause, then a hint on its own line) and exits 2;
the apps show the same text in ``st.error``.
"""

from __future__ import annotations

import re


class ModelcardsError(Exception):
    """Base class: a problem the user can fix, with a hint telling how."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\nHint: {self.hint}" if self.hint else self.message


class RegistryError(ModelcardsError):
    """The registry cannot be reached or is configured in a way we refuse."""


class ModelNotFoundError(RegistryError):
    """A model reference names a model, alias or version that does not exist."""


class ArtifactError(RegistryError):
    """Something stored with a model version (a file, a ``modelcards.*`` tag) is damaged:
    it cannot be fetched, read or parsed, or a file recorded at registration is gone.

    Never raised for an optional file that was never stored: only a damaged, unreachable
    or vanished one, which must not be mistaken for "none" (a stored policy is a gate).
    """


class UnsafeModelError(ModelcardsError):
    """A model file holds types outside the allow-list, or is a pickle not allowed."""


class ModelFileError(ModelcardsError):
    """A model file is damaged: not a zip, no skops schema, truncated or garbled data.

    ``reason`` says what is wrong in a few words, without the file's path, so that the
    registry can name the stored file and the version instead of a download folder.
    """

    def __init__(self, message: str, *, reason: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.reason = reason


class DataError(ModelcardsError):
    """Input data is unreadable, or a column is missing or of the wrong kind."""


class SpecError(ModelcardsError):
    """A card spec (the human-written sections) is malformed."""


class PolicyError(ModelcardsError):
    """A release policy is malformed."""


class UnsupportedTaskError(ModelcardsError):
    """The model or data is not a binary classification task."""


class RegistryUnreachableError(RegistryError):
    """The registry did not answer: nothing listens at its address, it never replies, or
    its database refuses connections. Never taken to mean "no model is registered"."""


class StoreError(ModelcardsError):
    """The feedback store (saved edge cases and flags) could not be used; nothing was saved."""


class StoreBusyError(StoreError):
    """Another connection held the feedback store longer than we wait for it."""


class StoreUnavailableError(StoreError):
    """The feedback store cannot be reached, or cannot be written (a read-only file)."""


class ReviewError(ModelcardsError):
    """A review decision or sign-off that cannot be recorded as asked (nothing is saved)."""


class ReviewerAuthError(ReviewError):
    """Not a named reviewer, or the wrong password: only named reviewers decide."""


def shown_uri(uri: str) -> str:
    """A registry or database URI as messages show it: without its password.

    >>> shown_uri("postgresql://reviewer:s3cret@db:5432/cards")
    'postgresql://reviewer:***@db:5432/cards'
    """
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:  # not a URL at all (a bad port, say): hide what looks like one
        return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", uri)
    if password is None:
        return uri
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()

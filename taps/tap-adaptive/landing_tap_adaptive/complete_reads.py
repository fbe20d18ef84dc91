"""What only a complete read may do: retire deleted rows (ACTIVATE_VERSION) and mark the stream as read.

Deletions (DESIGN.md): a full-table stream announces its table version only after it was read
completely, so a run that dies mid-stream retires nothing (``landing_tap_kit.versions``). A child
stream (the per-sheet methods) is read once per parent record, so its version is announced with its
parent's, at the end of the top-level stream's read: after its last record and its children's.

Permissions: each complete read records ``bookmarks.<stream>.last_successful_read_at``, which is what
tells a revoked permission (fatal: nothing may be retired) from a method this instance never allowed
(one warning, an empty table).
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

from landing_tap_kit.versions import VersionAfterFullRead
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError
from typing_extensions import override

from landing_tap_adaptive.errors import PermissionDeniedError

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context

#: Key in a stream's bookmarks recording its last complete, permitted read.
READ_MARK = "last_successful_read_at"


class CompleteReadStream(VersionAfterFullRead, RESTStream[t.Any]):
    """A stream whose complete reads retire deleted rows and leave a read mark; refusals judged by it."""

    method: t.ClassVar[str]
    #: Whether a complete sync announces its table version so loaders retire rows Adaptive no longer has.
    activate_versions: t.ClassVar[bool] = True
    #: A permission/licence refusal ended this stream's read.
    denied = False
    #: At least one context was read to the end.
    read_to_end = False
    #: A refusal was warned about (child streams fan out: one warning per run, not per parent).
    warned_unavailable = False

    @property
    @override
    def announces_versions(self) -> bool:
        """Whether this stream's complete reads end with ACTIVATE_VERSION (never export_data's)."""
        return self.activate_versions and self.selected and super().announces_versions

    @property
    def read_mark_state(self) -> dict[str, t.Any]:
        """The stream-level bookmark holding :data:`READ_MARK` (partitioned streams included)."""
        return t.cast("dict[str, t.Any]", self.stream_state)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        """Records of one context; a refused permission is a warning the first time, an error after a read.

        A method refused although it was read before is a revoked permission: the stream fails (no
        ACTIVATE_VERSION, so nothing is retired). Never read before: the instance never allowed it (plan,
        licence, role): one warning, an empty table, and the run goes on.
        """
        self.begin_version()
        try:
            yield from super().get_records(context)
        except PermissionDeniedError as exc:
            self.denied = True
            self.judge_refusal(exc)
            return
        self.read_to_end = True
        self.read_mark_state[READ_MARK] = datetime.now(UTC).isoformat(timespec="seconds")
        if self.parent_stream_type is None:
            # The generator resumes here only after the SDK wrote the last record and synced its children.
            self.activate_complete_versions()

    def judge_refusal(self, exc: PermissionDeniedError) -> None:
        """Fail for a revoked permission (read before), warn once for one never granted."""
        last_read = self.read_mark_state.get(READ_MARK)
        if last_read:
            msg = (
                f"stream {self.name}: {exc}; it was read on {last_read} (state bookmarks.{self.name}."
                f"{READ_MARK}), so the permission was revoked: restore the API user's access to "
                f"{self.method} or deselect {self.name}; nothing was retired"
            )
            raise FatalAPIError(msg) from None
        if not self.warned_unavailable:
            self.warned_unavailable = True
            self.logger.warning(
                "%s: not available on this instance (never read before), table left empty (%s)", self.name, exc
            )

    def activate_complete_versions(self) -> None:
        """Announce this stream's version and its children's: one message per table, after its last record."""
        if self.read_to_end and not self.denied:
            self.announce_version()
        for child in self.child_streams:
            if isinstance(child, CompleteReadStream):
                child.activate_complete_versions()

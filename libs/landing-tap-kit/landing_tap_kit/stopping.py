"""The one way a tap stops on SIGTERM/SIGINT: a final STATE written between messages, then exit 128 + signal.

The SDK's handler (``Tap._handle_termination``) writes the state from inside the signal handler and exits 0.
Both are wrong for a scheduled pipeline:

- exit 0 tells Meltano and Airflow that a stopped run succeeded;
- Python runs a signal handler in the main thread between two bytecodes, which is often *inside* the write of
  a RECORD (blocked on a full pipe while the loader commits). Writing the state there is refused by the
  buffered stdout (``RuntimeError: reentrant call``) or by msgspec's shared encoding buffer (``BufferError``),
  so the run dies with an unrelated error and no final state; when the new message happens to be exactly as
  long as the one in flight, msgspec writes it over that message's bytes instead, and the loader reads a
  garbled line.

:class:`StoppableTap` therefore only notes the signal. The state is written and the process ends at the next
point where no message is being written: while the tap waits on its source (:func:`waiting_on_source`, set by
the kit's HTTP adapter; a JDBC tap says so itself), or at the next record boundary
(:meth:`StopRequest.stop_here_if_asked`, which :class:`landing_tap_kit.records.FastRecordStream` calls before
each record, after the previous one and its state were written). A second signal, or ``GRACE_SECONDS``
without reaching such a point (the pipe never drains), ends the run without a final state: the last STATE
already written still names only records that left, so a resumed run loses nothing, it re-reads more.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import typing as t
from collections.abc import Iterator

import singer_sdk.singerlib as singer
from singer_sdk import Tap

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from types import FrameType

#: How long a stop waits for a point between messages before ending without a final state.
GRACE_SECONDS = 30.0


class StopRequest:
    """The process's pending stop: which signal, which tap acts on it, and whether the tap is waiting on I/O."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.tap: StoppableTap | None = None
        #: Depth of calls that wait on the source (HTTP, JDBC): no message is being written meanwhile.
        self.waits = 0

    def stop_here_if_asked(self) -> None:
        """Act on a pending stop; call only where no message is half written (between records, between reads)."""
        if self.signal is not None and self.tap is not None:
            self.tap.stop_now(self.signal, write_state=True)


#: One per process: a tap process runs one tap.
STOP = StopRequest()


@contextlib.contextmanager
def waiting_on_source() -> Iterator[None]:
    """Mark a call that waits on the source: a stop signal arriving meanwhile is acted on at once.

    Entering one is also a point between messages, so a stop left pending (by a retry's wait) is acted on here.
    """
    STOP.stop_here_if_asked()
    STOP.waits += 1
    try:
        yield
    finally:
        STOP.waits -= 1


class StoppableTap(Tap):
    """A ``Tap`` whose SIGTERM/SIGINT ends the run as stopped, with its final state written between messages.

    Mix it in before the kit's or the SDK's base: ``class TapFoo(StoppableTap, OneLineErrorTap)``. A tap whose
    streams do not derive from :class:`~landing_tap_kit.records.FastRecordStream` calls
    ``STOP.stop_here_if_asked()`` at its own record boundaries, where its state names the last record written.
    """

    @override
    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """Note the signal; stop at once only when no message can be half written (see the module docstring)."""
        if STOP.signal is not None:
            self.stop_now(signum, write_state=False)
        STOP.signal, STOP.tap = signum, self
        if STOP.waits:
            self.stop_now(signum, write_state=True)
        grace = threading.Timer(GRACE_SECONDS, self.stop_now, (signum,), {"write_state": False})
        grace.daemon = True
        grace.start()

    #: Set while the tap writes its catalog (``--discover``): a stop then writes no state.
    discovering = False

    @override
    def run_discovery(self) -> str:
        self.discovering = True
        return super().run_discovery()

    def stop_now(self, signum: int, *, write_state: bool) -> t.NoReturn:
        """Final STATE (not while discovering), one line, exit 128 + signal number.

        Without a state (a second signal, the grace timer's thread) stdout is not touched: the main thread may
        hold it mid-write, and flushing would wait on that lock or on a reader that stopped reading.
        ``os._exit``: a worker thread may still be stuck in a driver call, and an orderly shutdown would wait.
        """
        if write_state and not self.discovering:  # a STATE line would corrupt the catalog on stdout
            with contextlib.suppress(Exception):  # the line and the exit status below say it stopped anyway
                # Always a STATE last, even one equal to the last written (which the SDK's state writer would
                # skip): the output then ends where the run stood. The writer flushes each message.
                self.message_writer.write_message(singer.StateMessage(value=self.state))
        with contextlib.suppress(Exception):
            self.logger.error("%s stopped by %s", self.name, signal.Signals(signum).name)
            sys.stderr.flush()
        os._exit(128 + signum)

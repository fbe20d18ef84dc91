"""Xactly Connect emulator: the ``xactly.xc_*`` tables in a real H2 database behind a real JDBC driver.

Vendor reference: ``../shared/sources/xactly.md``. The tables' columns come from public vendor facts in
``xc_columns.txt`` (each line names its source), never from tap-xactly.

Not an HTTP emulator (so not in ``emulators.registry``): the Xactly source is SQL over JDBC (§1.2 of the
notes), so tests, the demo and the benchmark talk to H2 through H2's driver.
"""

from emulators.xactly.data import XactlyData
from emulators.xactly.emulator import XactlyEmulator
from emulators.xactly.proxy import TcpFaultProxy
from emulators.xactly.tables import TABLES, Table

__all__ = ["TABLES", "Table", "TcpFaultProxy", "XactlyData", "XactlyEmulator"]

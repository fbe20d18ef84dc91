"""Singer tap for Xactly Incent's ``xactly.xc_*`` tables through Xactly Connect's JDBC driver."""

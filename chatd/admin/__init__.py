"""
The operator socket: a line protocol on a C{unix:} endpoint (mode 0600;
a loopback C{tcp:} one works too), for C{chatctl} and for scripts.

L{chatd.admin.wire} is the format both ends share (sans IO, no Twisted:
C{chatctl} imports it);
L{chatd.admin.protocol} is the daemon's side of the socket;
L{chatd.admin.reports}, L{chatd.admin.moderation} and
L{chatd.admin.control} are the commands;
L{chatd.admin.hubcalls} holds every call they make into the hub's sessions;
L{chatd.admin.bans} holds the address bans the connection gate consults.

Nothing is imported here, so that C{chatctl} can use the wire format
without loading the daemon.
"""

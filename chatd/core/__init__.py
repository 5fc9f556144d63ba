"""
The chat core: rooms, nicks, sessions, events, errors and every chat rule.

Pure Python: no sockets and no reactor.  Time comes from an injected clock
(anything with a C{seconds()} method, such as L{twisted.internet.task.Clock}).
"""

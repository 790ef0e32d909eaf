"""The organisation's channel: the quarter's signed settings out to every chat user, and their usage back, without
one word of their conversations.

A channel is a folder (local or a mounted share) or an http(s) URL of static files: the published settings files
and `index.json`, which lists them (`index.py`). The operator publishes into it (`publish.py`); each user's `llamune`
follows it in the background and installs what is newer, signed and intact (`follow.py`). Usage comes back as
content-free events (`events.py`) dropped into a folder or PUT to a WebDAV location (`drop.py`). Every byte goes
through `transport.py`, which keeps to the egress allowlist, the time limits and the size limit.
"""

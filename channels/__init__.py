"""The assistant's input channels: Rasa's REST and socket.io channels, made robust.

`credentials.yml` names :class:`channels.rest.RestChannel` and
:class:`channels.socketio.SocketIOChannel` instead of Rasa's `rest` and `socketio`; the
URLs stay the same (`/webhooks/rest/webhook`, `/socket.io`). What they add is in
:mod:`channels.guard`: request validation (400/413 with a JSON error, never a 500), polite
replies to empty and over-long messages without running NLU on them, a safety net that
sends the phone hand-off when a message got no reply (in time), a request-size limit,
and a start-up check that refuses to serve without a loaded model.
"""

"""The clinic console: staff sign in at /staff/ to review and teach the assistant.

`accounts` keeps the staff accounts, the audit log and the sign-in throttle in one SQLite
file (STAFF_DB); `users` is `make staff-user`; `app` is the Flask blueprint that
web/serve.py mounts at /staff.
"""

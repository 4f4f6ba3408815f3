"""Background work on procrastinate (PostgreSQL), behind Django's task framework.

`backend.ProcrastinateBackend` is a `TASKS` backend: `some_task.enqueue(...)` defers a
procrastinate job through Django's own connection, so the job row commits or rolls back
with the write that asked for it. `app.on_app_ready` registers every Leadbill task with
procrastinate under its dotted path, on the queue `queues.QUEUES` gives it, plus the
periodic scheduler tick (`periodic`). `worker` runs procrastinate's worker for
`leadbill worker`. With the embedded SQLite default nothing here is used: tasks run
inline (Django's ImmediateBackend).
"""

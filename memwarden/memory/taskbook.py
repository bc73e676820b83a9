"""The user's task list as a service: what ``/task``, ``memwarden tasks`` and the API call."""

from __future__ import annotations

from ..clock import utcnow
from ..commands import CommandOutcome, SlashCommands, parse_id, validate_user_id
from ..errors import InputError
from ..store import Store
from . import tasks as task_store
from .tasks import Task, TaskEvent, TaskStatus

__all__ = ["STATUSES", "TaskBook", "register_commands"]

STATUSES = ("open", "done", "cancelled", "all")


class TaskBook:
    """Add, list, complete and cancel a user's tasks; every change writes its event."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, user_id: str, title: str) -> Task:
        """Create an open task the user asked for directly (no source episode)."""
        user_id = validate_user_id(user_id)
        with self.store.write(user_id) as conn:
            return task_store.create_task(conn, user_id, title, utcnow())

    def find(self, user_id: str, status: str = "open") -> list[Task]:
        """The user's tasks of ``status`` (open, done, cancelled or all), oldest first."""
        if status not in STATUSES:
            raise InputError(f"status must be one of {', '.join(STATUSES)}")
        user_id = validate_user_id(user_id)
        with self.store.read() as conn:
            return task_store.list_tasks(conn, user_id, None if status == "all" else status)

    def complete(self, user_id: str, task_id: int) -> Task:
        """Mark the task done."""
        return self._set(user_id, task_id, TaskStatus.DONE)

    def cancel(self, user_id: str, task_id: int) -> Task:
        """Cancel the task."""
        return self._set(user_id, task_id, TaskStatus.CANCELLED)

    def events(self, user_id: str, task_id: int | None = None) -> list[TaskEvent]:
        """The user's task events (or one task's), newest first."""
        user_id = validate_user_id(user_id)
        with self.store.read() as conn:
            return task_store.list_events(conn, user_id, task_id)

    def _set(self, user_id: str, task_id: int, status: TaskStatus) -> Task:
        user_id = validate_user_id(user_id)
        with self.store.write(user_id) as conn:
            return task_store.set_status(conn, user_id, task_id, status, utcnow())


USAGE = "usage: /task add TITLE | /task list [open|done|cancelled|all] | /task done ID | /task cancel ID"


def register_commands(commands: SlashCommands, book: TaskBook) -> None:
    """Register ``/task`` on ``commands``."""

    def task(user_id: str, args: list[str]) -> CommandOutcome:
        if not args:
            raise InputError(USAGE)
        verb, rest = args[0].lower(), args[1:]
        if verb == "add":
            if not rest:
                raise InputError(USAGE)
            created = book.add(user_id, " ".join(rest))
            return CommandOutcome(f'Added task {created.id}: "{created.title}".', created)
        if verb == "list":
            if len(rest) > 1:
                raise InputError(USAGE)
            status = rest[0].lower() if rest else "open"
            if status not in STATUSES:
                raise InputError(USAGE)
            found = book.find(user_id, status)
            if not found:
                return CommandOutcome("No tasks." if status == "all" else f"No {status} tasks.", [])
            return CommandOutcome(
                "\n".join(f"{t.id}. [{t.status}] {t.title}" for t in found), found
            )
        if verb in ("done", "complete", "cancel"):
            if len(rest) != 1:
                raise InputError(USAGE)
            task_id = parse_id(rest[0], "task")
            changed = (
                book.cancel(user_id, task_id)
                if verb == "cancel"
                else book.complete(user_id, task_id)
            )
            return CommandOutcome(
                f'Task {changed.id} is {changed.status}: "{changed.title}".', changed
            )
        raise InputError(USAGE)

    commands.register("/task", task, "/task add TITLE | list [STATUS] | done ID | cancel ID")

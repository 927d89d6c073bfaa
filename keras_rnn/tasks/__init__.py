"""Tasks as peers over one core: `TASKS` maps each task's name to its `Task` (see `keras_rnn.tasks.base`).

A new task is one module here that calls `register`, plus its import below.
"""

from keras_rnn.tasks.base import TASKS, Task, get_task, register
from keras_rnn.tasks import sentiment, summarization, translation  # noqa: E402,F401  (each registers itself)

__all__ = ["TASKS", "Task", "get_task", "register"]

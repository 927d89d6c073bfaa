"""Tasks as peers over one core: `TASKS` maps each task's name to its `Task` (`keras_rnn.core.task`).

Each task is one package here (configuration, data preparation, head, evaluation, objectives, the layer
its export traces) that calls `register` when imported; a new task is one package plus its import below.
No task imports another.
"""

from keras_rnn.core.task import TASKS, Task, get_task, register
from keras_rnn.tasks import forecasting, language_model, sentiment, summarization, tagging, translation  # noqa: E402,F401  (each registers itself)

__all__ = ["TASKS", "Task", "get_task", "register"]

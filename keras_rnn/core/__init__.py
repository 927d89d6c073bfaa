"""The shared core that knows no task: configuration parts, the Task record and registry, run folders,
resumable fit and schedules, strategies, one `train(task, config, run_dir)`, and the seq2seq family
(`keras_rnn.core.seq2seq`) the generating tasks share."""

from keras_rnn.core.config import (
    LR_SCHEDULES, DataConfig, DecodingConfig, OptimizationConfig, TaskConfig,
)
from keras_rnn.core.fit import fit_resumable, learning_rate_schedule
from keras_rnn.core.runs import (
    RUN_FILES, changed_fields, check_run_dir, default_run_dir, is_finished_run, open_run_dir, run_task,
)
from keras_rnn.core.strategies import get_strategy, worker_index
from keras_rnn.core.task import TASKS, Task, get_task, register
from keras_rnn.core.train import train

__all__ = ["LR_SCHEDULES", "RUN_FILES", "TASKS", "DataConfig", "DecodingConfig", "OptimizationConfig", "Task",
           "TaskConfig", "changed_fields", "check_run_dir", "default_run_dir", "fit_resumable", "get_strategy",
           "get_task", "is_finished_run", "learning_rate_schedule", "open_run_dir", "register", "run_task", "train",
           "worker_index"]

"""The shared core that knows no task: strategies, run folders, resumable fit and schedules."""

from keras_rnn.core.fit import LR_SCHEDULES, fit_resumable, learning_rate_schedule
from keras_rnn.core.runs import (
    RUN_FILES, changed_fields, check_run_dir, default_run_dir, is_finished_run, open_run_dir, run_task,
)
from keras_rnn.core.strategies import get_strategy, refuse_multi_worker, worker_index

__all__ = ["LR_SCHEDULES", "RUN_FILES", "changed_fields", "check_run_dir", "default_run_dir", "fit_resumable",
           "get_strategy", "is_finished_run", "learning_rate_schedule", "open_run_dir", "refuse_multi_worker",
           "run_task", "worker_index"]

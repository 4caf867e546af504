"""Applying a plan: the executor, its events and report, and where secrets go."""

from .events import ApplyEvent, ApplyReport, StepResult, StepStatus
from .executor import Executor, ExecutorOptions, live_ids
from .secrets import ExecSink, FileSink, Secret, SecretRouter, SecretSinkError

__all__ = [
    "ApplyEvent",
    "ApplyReport",
    "StepResult",
    "StepStatus",
    "Executor",
    "ExecutorOptions",
    "live_ids",
    "ExecSink",
    "FileSink",
    "Secret",
    "SecretRouter",
    "SecretSinkError",
]

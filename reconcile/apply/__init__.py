"""Applying a plan: the executor, its events and report, and where secrets go."""

from .events import ApplyEvent, ApplyReport, StepResult, StepStatus  # noqa: F401
from .executor import Executor, ExecutorOptions, live_ids  # noqa: F401
from .secrets import ExecSink, FileSink, Secret, SecretRouter, SecretSinkError  # noqa: F401

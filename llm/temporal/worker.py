"""What the llm app runs on Temporal workers (found by mono.temporal.registry)."""

from llm.temporal import activities
from llm.temporal.workflows import LLMBatchWorkflow, LLMExecutionWorkflow
from mono.temporal import queues
from mono.temporal.registry import register

register(queues.LLM_PROCESSING, workflows=[LLMExecutionWorkflow, LLMBatchWorkflow], activities=activities.ALL)

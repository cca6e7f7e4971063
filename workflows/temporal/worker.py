"""What the workflows app runs on Temporal workers (found by mono.temporal.registry)."""

from mono.temporal import queues
from mono.temporal.registry import register
from workflows.temporal import activities, agent_activities
from workflows.temporal.agent import AgentWorkflow
from workflows.temporal.scheduled import ScheduledWorkflowRun
from workflows.temporal.workflows import InterpreterWorkflow

register(queues.WORKFLOWS, workflows=[InterpreterWorkflow], activities=activities.ALL)
register(queues.WORKFLOWS, workflows=[ScheduledWorkflowRun], activities=activities.SCHEDULED)
register(queues.WORKFLOWS, workflows=[AgentWorkflow], activities=agent_activities.ALL)

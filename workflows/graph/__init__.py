"""The pure workflow graph: node types, validation and compilation of ReactFlow definitions.

No Django and no I/O here: the editor's validation endpoint, the compiler and the Temporal
interpreter workflow (which imports this package through `imports_passed_through`) share it.
"""

from workflows.graph.compiler import GraphInvalid, Plan, PlanEdge, PlanNode, compile_definition, diff_definitions
from workflows.graph.nodes import NODE_TYPES, NodeType, node_type
from workflows.graph.validation import GraphError, validate_definition

__all__ = [
    "NODE_TYPES",
    "GraphError",
    "GraphInvalid",
    "NodeType",
    "Plan",
    "PlanEdge",
    "PlanNode",
    "compile_definition",
    "diff_definitions",
    "node_type",
    "validate_definition",
]

"""Custom search attributes Mono registers in every namespace, so the Temporal UI can filter
runs by tenant and by workflow definition."""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.common import SearchAttributeKey

TENANT_ID = SearchAttributeKey.for_keyword("MonoTenantId")
WORKFLOW_ID = SearchAttributeKey.for_keyword("MonoWorkflowId")
WORKFLOW_VERSION = SearchAttributeKey.for_int("MonoWorkflowVersion")

ALL = {
    TENANT_ID.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    WORKFLOW_ID.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    WORKFLOW_VERSION.name: IndexedValueType.INDEXED_VALUE_TYPE_INT,
}

"""When an approval is decided (pure)."""

import pytest

from workflows.graph.quorum import quorum_outcome


@pytest.mark.parametrize(
    ("quorum", "approvals", "rejections", "outcome"),
    [
        ("any", 0, 0, None),
        ("any", 1, 0, "approved"),
        ("any", 0, 1, "rejected"),
        ("all", 2, 0, None),
        ("all", 3, 0, "approved"),
        ("all", 2, 1, "rejected"),
        ("2", 1, 0, None),
        ("2", 2, 0, "approved"),
        ("2", 1, 1, None),
        ("2", 0, 2, "rejected"),
    ],
)
def test_quorum_with_three_eligible_approvers(quorum, approvals, rejections, outcome):
    assert quorum_outcome(quorum, eligible=3, approvals=approvals, rejections=rejections) == outcome

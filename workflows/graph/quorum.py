"""When an approval is decided (pure; shared by the interpreter workflow and the services)."""


def quorum_outcome(quorum: str, *, eligible: int, approvals: int, rejections: int) -> str | None:
    """`approved`, `rejected`, or None while undecided.

    `any`: the first vote decides. `all`: every eligible approver must approve; one rejection
    rejects. A number N: N approvals approve; it is rejected once N can no longer be reached.
    """
    if quorum == "any":
        if approvals:
            return "approved"
        return "rejected" if rejections else None
    if quorum == "all":
        if rejections:
            return "rejected"
        return "approved" if approvals >= eligible else None
    needed = int(quorum)
    if approvals >= needed:
        return "approved"
    return "rejected" if eligible - rejections < needed else None

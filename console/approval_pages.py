"""The page an approval e-mail's link opens: confirm, then decide through the same service (and
Temporal Update) as the API. See `console.approval_links` for the link's rules."""

from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from console.approval_links import approval_link_read
from mono.errors import ServiceError
from tenants.permissions import Permission, role_allows
from tenants.selectors import membership_get
from workflows.models import ApprovalRequest, ApprovalStatus
from workflows.services.approvals import approval_decide

TEMPLATE = "console/account/approval_link.html"


def _refuse(request, status: int, heading: str, text: str):
    return render(request, TEMPLATE, {"refused": True, "heading": heading, "text": text}, status=status)


@csrf_protect
@never_cache
def approval_link(request, token: str):
    """GET shows what the link would decide; POST (from that page) decides it."""
    claim = approval_link_read(token=token)
    if claim is None:
        return _refuse(request, 404, "This link is not valid", "It may have been altered or cut short in the e-mail.")
    approval = (
        ApprovalRequest.objects.for_tenant(claim.tenant_id)
        .select_related("tenant", "execution__definition", "execution__started_by")
        .filter(pk=claim.approval_id)
        .first()
    )
    user = get_user_model().objects.filter(pk=claim.user_id, is_active=True).first()
    membership = membership_get(tenant=approval.tenant, user=user) if approval and user else None
    if (
        membership is None
        or not approval.tenant.is_active
        or not role_allows(membership.role, Permission.APPROVE)
        or user.get_username() not in approval.eligible_usernames
    ):
        # Approval gone, user removed or no longer an approver: the link answers as a missing one.
        return _refuse(request, 404, "This link is not valid", "The approval or your access to it no longer exists.")
    if claim.expired and (not request.user.is_authenticated or request.user.pk != user.pk):
        if request.user.is_authenticated:
            return _refuse(request, 403, "This link was sent to someone else", "Sign out and sign in as its addressee.")
        return redirect(reverse("console:login") + "?" + urlencode({"next": request.get_full_path()}))
    if approval.decisions.filter(user=user).exists():
        return _refuse(request, 410, "This link has been used", "You have already decided on this approval.")
    if approval.status != ApprovalStatus.PENDING:
        return _refuse(request, 410, "This approval is closed", f"It is already {approval.status}.")
    context = {"approval": approval, "execution": approval.execution, "decision": claim.decision, "user": user}
    if request.method == "POST":
        comment = request.POST.get("comment", "")[:5000]
        try:
            approval_decide(approval=approval, user=user, decision=claim.decision, comment=comment)
        except ServiceError as exc:
            return _refuse(request, exc.status_code, "The decision was not recorded", exc.message)
        return render(request, TEMPLATE, {**context, "done": True})
    return render(request, TEMPLATE, context)

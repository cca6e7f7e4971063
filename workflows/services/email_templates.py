"""E-mail templates: the named messages an EmailNode sends (`data.template`)."""

from django.db import transaction

from mono.errors import ServiceError
from mono.kernel import templating
from workflows.models import EmailTemplate


@transaction.atomic
def email_template_save(*, tenant, name: str, subject: str, body: str) -> EmailTemplate:
    """Create or replace the tenant's template `name`; subject and body must compile (400 naming them)."""
    texts = {"subject": subject, "body": body}
    problems = {field: problem for field, text in texts.items() if (problem := templating.check(text))}
    if problems:
        raise ServiceError(problems)
    template = EmailTemplate.objects.for_tenant(tenant).select_for_update().filter(name=name).first()
    template = template or EmailTemplate(tenant=tenant, name=name)
    template.subject, template.body = subject, body
    template.full_clean(validate_constraints=False)
    template.save()
    return template


def email_template_delete(*, template: EmailTemplate) -> None:
    """Drop a template; EmailNodes naming it fail their step until it exists again."""
    template.delete()

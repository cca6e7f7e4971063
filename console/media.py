"""The media files the console's Media page shows: a variant's bytes (thumbnail, poster, web video)
and a document's extracted text, in the tenant the console resolved.

`<img>` and `<video>` elements cannot send the API's `X-Tenant` header, so a member of several
tenants would be served their first tenant's asset by the API; these routes use the console's own
tenant choice instead (the switcher or `?tenant=`). Another tenant's asset is a 404, like a missing one.
"""

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404

from console.views import console_page
from jobs import selectors as media_selectors


def _asset(membership, asset_id: int):
    asset = media_selectors.media_get(tenant=membership.tenant, asset_id=asset_id)
    if asset is None:
        raise Http404("No such media asset.")
    return asset


@console_page
def media_variant(request, membership, asset_id: int, name: str):
    """One variant's file, inline (`thumb`, `poster`, `web`…)."""
    variant = get_object_or_404(_asset(membership, asset_id).variants.all(), name=name)
    try:
        handle = variant.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    return FileResponse(handle)


@console_page
def media_text(request, membership, asset_id: int):
    """A document's extracted text as plain text (pages separated by form feeds)."""
    extracted = media_selectors.media_text_get(tenant=membership.tenant, asset_id=_asset(membership, asset_id).pk)
    if extracted is None:
        raise Http404("This asset has no extracted text.")
    return HttpResponse(extracted.text, content_type="text/plain; charset=utf-8")

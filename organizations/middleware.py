"""The middleware that sets the tenant and the member's membership for browser requests under
/t/<slug>/ (the tenant scoping itself is organizations/tenancy.py)."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.http import Http404

from organizations.config_version import request_seeing
from organizations.selectors import membership_for_page
from organizations.tenancy import tenant_activate, tenant_cleared


class TenantMiddleware:
    """Sets the current tenant and the user's membership for views under /t/<tenant_slug>/.

    A user who is not an active member of the tenant gets 404, exactly as if it did not exist.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with tenant_cleared(), request_seeing():
            return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        slug = view_kwargs.get("tenant_slug")
        if slug is None:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        membership = membership_for_page(slug=slug, user_id=request.user.pk)
        if membership is None:
            raise Http404("No such tenant")
        request.tenant = membership.tenant
        request.membership = membership
        tenant_activate(membership.tenant)
        return None

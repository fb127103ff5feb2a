"""The customer's own page: unsubscribe from feedback invitations (confirmed by a POST, so
link scanners in mail systems cannot unsubscribe anyone)."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from customers.services import customer_from_unsubscribe_token, customer_unsubscribe
from organizations.tenancy import tenant_context


def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    customer = customer_from_unsubscribe_token(token)
    if customer is None:
        raise Http404
    done = False
    if request.method == "POST":
        with tenant_context(customer.tenant):
            customer_unsubscribe(customer=customer)
        done = True
    return render(
        request,
        "customers/unsubscribe.html",
        {"tenant_name": customer.tenant.name, "done": done or customer.unsubscribed_at is not None},
    )

"""Writes of customers: find or create a customer by the tenant's own id."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from customers.models import Customer


def customer_upsert(
    *, external_id: str, name: str = "", mobile: str = "", email: str = ""
) -> Customer:
    """The tenant's customer with this external id, created on first sight; blank fields
    never overwrite known ones."""
    external_id = external_id.strip()
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None:
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    external_id=external_id, name=name, mobile=mobile, email=email
                )
        except IntegrityError:
            customer = Customer.objects.get(external_id=external_id)
    known = {"name": name, "mobile": mobile, "email": email}
    changed = [
        field for field, value in known.items() if value and getattr(customer, field) != value
    ]
    for field in changed:
        setattr(customer, field, known[field])
    if changed:
        customer.save(update_fields=changed)
    return customer

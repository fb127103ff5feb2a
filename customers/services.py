"""Writes of customers: find or create a customer by the tenant's own id."""

from __future__ import annotations

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.models import ContactPolicy, Customer
from organizations.services import audit_record
from organizations.tenancy import current_tenant, system_context


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


def customers_upsert(people: list[dict]) -> list[Customer]:
    """customer_upsert for a batch from a CRM, in a few queries whatever its size: the
    customers of `people` ({id, name, mobile, email}) in their order; a person listed twice is
    one customer, the later non-blank fields winning as they would one call after another."""
    customers: dict[str, Customer] = {}
    changed: set[str] = set()
    ids = {person["id"].strip() for person in people}
    for customer in Customer.objects.filter(external_id__in=ids):
        customers[customer.external_id] = customer
    new = [external_id for external_id in ids if external_id not in customers]
    if new:
        tenant = current_tenant()
        Customer.objects.bulk_create(
            [Customer(tenant=tenant, external_id=external_id) for external_id in new],
            ignore_conflicts=True,  # created meanwhile by another request: read below
        )
        for customer in Customer.objects.filter(external_id__in=new):
            customers[customer.external_id] = customer
    found = []
    for person in people:
        customer = customers[person["id"].strip()]
        for field in ("name", "mobile", "email"):
            value = person.get(field, "")
            if value and getattr(customer, field) != value:
                setattr(customer, field, value)
                changed.add(customer.external_id)
        found.append(customer)
    if changed:
        Customer.objects.bulk_update(
            [customers[external_id] for external_id in changed], ["name", "mobile", "email"]
        )
    return found


UNSUBSCRIBE_SALT = "customers.unsubscribe"


def unsubscribe_token(customer: Customer) -> str:
    """A signed, unguessable token naming the customer, for the unsubscribe link."""
    return signing.dumps(
        {"t": customer.tenant_id, "c": customer.pk}, salt=UNSUBSCRIBE_SALT, compress=True
    )


def customer_from_unsubscribe_token(token: str) -> Customer | None:
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    with system_context():  # the signed token is what names the tenant
        return Customer.all_tenants.filter(pk=payload.get("c"), tenant_id=payload.get("t")).first()


def customer_unsubscribe(*, customer: Customer) -> Customer:
    """Stop all invitations to this customer (kept until they opt in again)."""
    if customer.unsubscribed_at is None:
        customer.unsubscribed_at = timezone.now()
        customer.save(update_fields=["unsubscribed_at"])
    return customer


@transaction.atomic
def contact_policy_update(*, policy: ContactPolicy, changes: dict, by) -> ContactPolicy:
    before = {name: getattr(policy, name) for name in changes}
    for name, value in changes.items():
        setattr(policy, name, value)
    policy.save()
    audit_record(by=by, action="contact_policy.update", target=policy, before=before, after=changes)
    return policy

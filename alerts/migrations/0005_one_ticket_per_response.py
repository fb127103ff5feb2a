"""Step 3 of one ticket per response: the old one-rule column goes, the rules are read through
TicketRule, and the database holds one ticket per response of a tenant."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0004_merge_duplicate_tickets"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="ticket",
            name="ticket_one_per_response_rule",
        ),
        migrations.RemoveField(
            model_name="ticket",
            name="rule",
        ),
        migrations.AddField(
            model_name="ticket",
            name="rules",
            field=models.ManyToManyField(
                related_name="tickets", through="alerts.TicketRule", to="alerts.alertrule"
            ),
        ),
        migrations.AddConstraint(
            model_name="ticket",
            constraint=models.UniqueConstraint(
                fields=("tenant", "response"), name="ticket_one_per_response"
            ),
        ),
    ]

from django.apps import AppConfig


class CemConfig(AppConfig):
    name = "cem"
    verbose_name = "CEM core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from cem.login_throttle import login_failure_audit

        user_login_failed.connect(login_failure_audit, dispatch_uid="cem.login_failure_audit")

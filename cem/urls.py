"""URL map: pages under /t/<tenant_slug>/, respondent pages under /s/, the API under /api/v1/."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from alerts import root_cause_views
from alerts import views as alert_views
from analytics import export_views, report_views
from analytics import journey_views as journey_map_views
from analytics import views as analytics_views
from cem import views as project_views
from customers import views as customer_views
from journeys import views as journey_views
from notifications import views as notification_views
from organizations import member_views, org_unit_views
from organizations import views as organization_views
from surveys import respond
from surveys import views as survey_views

tenant_patterns = [
    path("", organization_views.tenant_home, name="tenant_home"),
    path("dashboard/", analytics_views.dashboard, name="dashboard"),
    path("dashboard/drivers/", analytics_views.key_drivers, name="key_drivers"),
    path("metric-alerts/", analytics_views.metric_alert_list, name="metric_alert_list"),
    path(
        "metric-alerts/<int:alert_id>/",
        analytics_views.metric_alert_detail,
        name="metric_alert_detail",
    ),
    path("dashboard/report.xlsx", report_views.dashboard_report_xlsx, name="dashboard_report_xlsx"),
    path("reports/schedules/", report_views.report_schedule_list, name="report_schedules"),
    path(
        "reports/schedules/new/",
        report_views.report_schedule_create,
        name="report_schedule_create",
    ),
    path(
        "reports/schedules/<int:schedule_id>/",
        report_views.report_schedule_edit,
        name="report_schedule_edit",
    ),
    path(
        "reports/schedules/<int:schedule_id>/delete/",
        report_views.report_schedule_remove,
        name="report_schedule_delete",
    ),
    path("exports/", export_views.export_list, name="exports"),
    path("exports/new/", export_views.export_create, name="export_create"),
    path("exports/<int:export_id>/download/", export_views.export_download, name="export_download"),
    path("text-analytics/", analytics_views.text_analytics, name="text_analytics"),
    path("text-analytics/dictionary/", analytics_views.text_dictionary, name="text_dictionary"),
    path(
        "text-analytics/external-posts/",
        analytics_views.external_posts_upload,
        name="external_posts",
    ),
    path("journeys/", journey_map_views.journey_index, name="journey_map"),
    path("journeys/<int:journey_id>/", journey_map_views.journey_detail, name="journey_detail"),
    path(
        "journeys/<int:journey_id>/touchpoints/<int:touchpoint_id>/responses/",
        journey_map_views.journey_cell_responses,
        name="journey_cell_responses",
    ),
    path(
        "journeys/<int:journey_id>/metrics/",
        journey_map_views.journey_metrics,
        name="journey_metrics",
    ),
    path("journeys/new/", journey_views.journey_new, name="journey_new"),
    path("journeys/<int:journey_id>/edit/", journey_views.journey_edit, name="journey_edit"),
    path(
        "journeys/<int:journey_id>/export.json",
        journey_views.journey_export_json,
        name="journey_export",
    ),
    path("surveys/", survey_views.survey_index, name="survey_index"),
    path("distribution/", survey_views.distribution_dashboard, name="distribution_dashboard"),
    path("surveys/<int:survey_id>/", survey_views.survey_builder, name="survey_builder"),
    path("surveys/<int:survey_id>/publish/", survey_views.survey_publish, name="survey_publish"),
    path("surveys/<int:survey_id>/close/", survey_views.survey_close, name="survey_close"),
    path("surveys/<int:survey_id>/edit/", survey_views.survey_edit, name="survey_edit"),
    path("surveys/<int:survey_id>/window/", survey_views.survey_window, name="survey_window"),
    path("surveys/<int:survey_id>/preview/", survey_views.survey_preview, name="survey_preview"),
    path("surveys/<int:survey_id>/export.json", survey_views.survey_export, name="survey_export"),
    path("surveys/<int:survey_id>/import/", survey_views.survey_import, name="survey_import"),
    path(
        "surveys/<int:survey_id>/distribution/",
        survey_views.survey_distribution,
        name="survey_distribution",
    ),
    path("surveys/<int:survey_id>/qr.zip", survey_views.survey_qr_zip, name="survey_qr_zip"),
    path(
        "surveys/<int:survey_id>/links/<int:link_id>/",
        survey_views.link_update,
        name="link_update",
    ),
    path(
        "surveys/<int:survey_id>/links/<int:link_id>/qr.svg",
        survey_views.link_qr_svg,
        name="link_qr_svg",
    ),
    path(
        "surveys/<int:survey_id>/links/<int:link_id>/qr.png",
        survey_views.link_qr_png,
        name="link_qr_png",
    ),
    path("responses/<int:response_id>/", survey_views.response_detail, name="response_detail"),
    path("tickets/", alert_views.ticket_queue, name="ticket_queue"),
    path("tickets/<int:number>/", alert_views.ticket_detail, name="ticket_detail"),
    path("tickets/bulk/", alert_views.ticket_bulk, name="ticket_bulk"),
    path("tickets/analytics/", alert_views.ticket_analytics, name="ticket_analytics"),
    path("tickets/export/", alert_views.ticket_export, name="ticket_export"),
    path("settings/follow-up/", alert_views.follow_up_settings, name="follow_up_settings"),
    path("notifications/", notification_views.notification_centre, name="notification_centre"),
    path("settings/robots/", notification_views.group_robots, name="group_robots"),
    path(
        "notifications/settings/",
        notification_views.notification_preferences,
        name="notification_preferences",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        notification_views.notification_read,
        name="notification_read",
    ),
    path("alerts/rules/", alert_views.alert_rule_list, name="alert_rules"),
    path("settings/sla/", alert_views.sla_settings, name="sla_settings"),
    path("settings/root-causes/", root_cause_views.root_cause_list, name="root_causes"),
    path(
        "settings/root-causes/<int:cause_id>/",
        root_cause_views.root_cause_edit,
        name="root_cause_edit",
    ),
    path(
        "settings/root-causes/<int:cause_id>/active/",
        root_cause_views.root_cause_set_active,
        name="root_cause_set_active",
    ),
    path(
        "settings/root-causes/<int:cause_id>/delete/",
        root_cause_views.root_cause_delete,
        name="root_cause_delete",
    ),
    path("improvements/", include("improvements.urls")),
    path("alerts/rules/new/", alert_views.alert_rule_new, name="alert_rule_new"),
    path("alerts/rules/<int:rule_id>/", alert_views.alert_rule_edit, name="alert_rule_edit"),
    path(
        "alerts/rules/<int:rule_id>/active/",
        alert_views.alert_rule_active,
        name="alert_rule_active",
    ),
    path(
        "alerts/rules/<int:rule_id>/delete/",
        alert_views.alert_rule_delete,
        name="alert_rule_delete",
    ),
    path("settings/api-keys/", organization_views.api_key_list, name="api_keys"),
    path("settings/theme/", organization_views.tenant_theme, name="tenant_theme"),
    path("settings/members/", member_views.member_list, name="members"),
    path("settings/members/<int:membership_id>/", member_views.member_edit, name="member_edit"),
    path(
        "settings/members/<int:membership_id>/deactivate/",
        member_views.member_deactivate,
        name="member_deactivate",
    ),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        member_views.invitation_revoke_view,
        name="invitation_revoke",
    ),
    path("start/", project_views.onboarding, name="onboarding"),
    path("settings/org-units/", org_unit_views.org_units, name="org_units"),
    path("settings/org-units/<int:unit_id>/", org_unit_views.org_unit_edit, name="org_unit_edit"),
    path("settings/org-units/import/", org_unit_views.org_unit_import, name="org_unit_import"),
    path(
        "settings/org-units/import/<int:job_id>/",
        org_unit_views.org_unit_import_job,
        name="org_unit_import_job",
    ),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        organization_views.api_key_revoke_view,
        name="api_key_revoke",
    ),
]

urlpatterns = [
    path("", organization_views.tenant_picker, name="home"),
    path("healthz", project_views.healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        member_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        member_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("invite/<str:token>/", member_views.invitation_accept_view, name="invitation_accept"),
    path("signup/", member_views.signup, name="signup"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("t/<slug:tenant_slug>/", include(tenant_patterns)),
    path("s/<str:token>/", respond.respond, name="respond"),
    path("s/<str:token>/thanks/", respond.respond_thanks, name="respond_thanks"),
    path("u/<str:token>/", customer_views.unsubscribe, name="unsubscribe"),
    path("api/v1/", include("integrations.urls")),
    path("admin/", admin.site.urls),
]

# Under /api/ these answer the API's JSON error shape; elsewhere Django's pages.
handler400 = "integrations.errors.bad_request"
handler403 = "integrations.errors.permission_denied"
handler404 = "integrations.errors.page_not_found"
handler500 = "integrations.errors.server_error"

"""The partner REST API, version 1, and its OpenAPI 3 schema and docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from alerts import api as alert_api
from improvements import api as improvement_api
from integrations import api as integration_api
from journeys import api as journey_api
from organizations import api as organization_api
from surveys import api as survey_api

urlpatterns = [
    path("journeys/", journey_api.JourneyListApi.as_view(), name="api_journeys"),
    path("journeys/<int:journey_id>/", journey_api.JourneyDetailApi.as_view(), name="api_journey"),
    path("touchpoints/", journey_api.TouchpointListApi.as_view(), name="api_touchpoints"),
    path("surveys/", survey_api.SurveyListApi.as_view(), name="api_surveys"),
    path("surveys/<int:pk>/", survey_api.SurveyDetailApi.as_view(), name="api_survey"),
    path(
        "surveys/<int:pk>/responses/",
        survey_api.ResponseCreateApi.as_view(),
        name="api_response_create",
    ),
    path(
        "surveys/<int:pk>/invitations/",
        survey_api.InvitationCreateApi.as_view(),
        name="api_invitation_create",
    ),
    path("responses/", survey_api.ResponseListApi.as_view(), name="api_responses"),
    path("responses/<int:pk>/", survey_api.ResponseDetailApi.as_view(), name="api_response"),
    path("tickets/", alert_api.TicketListApi.as_view(), name="api_tickets"),
    path("tickets/<int:number>/", alert_api.TicketDetailApi.as_view(), name="api_ticket"),
    path(
        "tickets/<int:number>/events/",
        alert_api.TicketEventListApi.as_view(),
        name="api_ticket_events",
    ),
    path(
        "tickets/<int:number>/assign/",
        alert_api.TicketAssignApi.as_view(),
        name="api_ticket_assign",
    ),
    path(
        "tickets/<int:number>/customer-replies/",
        alert_api.TicketCustomerReplyApi.as_view(),
        name="api_ticket_customer_reply",
    ),
    path(
        "tickets/<int:number>/contacts/",
        alert_api.TicketContactApi.as_view(),
        name="api_ticket_contacts",
    ),
    path(
        "tickets/<int:number>/recovery-actions/",
        alert_api.TicketRecoveryApi.as_view(),
        name="api_ticket_recovery_actions",
    ),
    path("root-causes/", alert_api.RootCauseListApi.as_view(), name="api_root_causes"),
    path("projects/", improvement_api.ProjectListApi.as_view(), name="api_projects"),
    path("projects/<int:pk>/", improvement_api.ProjectDetailApi.as_view(), name="api_project"),
    path("org-units/", organization_api.OrgUnitListApi.as_view(), name="api_org_units"),
    path("events/", integration_api.EventIngestApi.as_view(), name="api_events"),
    path(
        "external-posts/",
        integration_api.ExternalPostIngestApi.as_view(),
        name="api_external_posts",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
]

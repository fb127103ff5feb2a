"""Pages of improvement projects, under /t/<tenant_slug>/improvements/."""

from django.urls import path

from improvements import views

urlpatterns = [
    path("", views.project_list, name="improvement_projects"),
    path("new/", views.project_new, name="improvement_project_new"),
    path("<int:project_id>/", views.project_detail, name="improvement_project"),
    path("<int:project_id>/review/", views.project_review, name="improvement_review"),
]

"""Browser views of journeys: the journey map."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from journeys.selectors import journey_list
from organizations.access import tenant_view


@tenant_view("journey.view")
def journey_map(request: HttpRequest) -> HttpResponse:
    return render(request, "journeys/journey_map.html", {"journeys": journey_list()})

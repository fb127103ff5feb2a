"""Bench-only URLconf (CEM_ROOT_URLCONF=bench.urls): the platform's URLs plus the floor view."""

from django.urls import include, path

from bench.floor import floor_insert

urlpatterns = [
    path("bench/floor/", floor_insert, name="bench_floor"),
    path("", include("cem.urls")),
]

"""Bench-only URLconf (CEM_ROOT_URLCONF=bench.urls): the platform's URLs plus the floor views."""

from django.urls import include, path

from bench.floor import floor_insert, floor_page

urlpatterns = [
    path("bench/floor/", floor_insert, name="bench_floor"),
    path("bench/floor-page/", floor_page, name="bench_floor_page"),
    path("", include("cem.urls")),
]

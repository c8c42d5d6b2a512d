from django.urls import path

import views

urlpatterns = [
    path("api/health", views.health),
    path("api/orders", views.orders),
    path("api/orders/<str:order_id>", views.OrderDetail.as_view()),
    path("admin/", views.admin),
    path("api/boom", views.boom),
]

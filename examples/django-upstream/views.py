import json

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from rest_framework.response import Response
from rest_framework.views import APIView

ORDERS = {"1": {"id": "1", "item": "widget", "qty": 2}, "2": {"id": "2", "item": "gadget", "qty": 1}}


def caller(request):  # claims verified by rampart_middleware; never trust a plain X-Rampart-User header
    return {"sub": request.rampart["sub"], "roles": request.rampart.get("roles", [])}


@require_GET
def health(request):
    return JsonResponse({"status": "ok"})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def orders(request):
    if request.method == "GET":
        return JsonResponse({"orders": list(ORDERS.values()), "caller": caller(request)})
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "invalid JSON"}, status=400)
    order = {**(body if isinstance(body, dict) else {}), "id": str(len(ORDERS) + 1)}
    ORDERS[order["id"]] = order
    return JsonResponse({"order": order, "caller": caller(request)}, status=201)


class OrderDetail(APIView):  # a Django REST framework view
    def get(self, request, order_id):
        if order_id not in ORDERS:
            return Response({"error": "not found", "id": order_id, "caller": caller(request)}, status=404)
        return Response({"order": ORDERS[order_id], "caller": caller(request)})

    def patch(self, request, order_id):
        if order_id not in ORDERS:
            return Response({"error": "not found", "id": order_id, "caller": caller(request)}, status=404)
        data = request.data if isinstance(request.data, dict) else {}
        ORDERS[order_id].update({**data, "id": order_id})
        return Response({"order": ORDERS[order_id], "caller": caller(request)})


@require_GET
def admin(request):  # a pretend admin page (Django's admin is why the gateway can move its own routes)
    return HttpResponse("<h1>Pretend admin</h1><p>django-upstream admin page</p>")


def boom(request):
    raise RuntimeError("boom: deliberate failure in django-upstream")

from rest_framework.routers import SimpleRouter

from .api import GameDesignViewSet, PillarViewSet

router = SimpleRouter()
router.register("designs", GameDesignViewSet, basename="design")
router.register("pillars", PillarViewSet, basename="pillar")

urlpatterns = router.urls

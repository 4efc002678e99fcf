package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/pprof"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health is the answer of /healthz and /readyz.
type Health struct {
	Status string `json:"status"`
}

func (s *Server) registerOps() {
	s.add(Route{Method: fiber.MethodGet, Path: "/healthz", Summary: "The process is up.", Tag: "operations", Public: true,
		Response: Health{}, Handler: func(c *fiber.Ctx) error { return c.JSON(Health{Status: "ok"}) }})
	s.add(Route{Method: fiber.MethodGet, Path: "/readyz", Summary: "The engine has recovered and takes requests.", Tag: "operations", Public: true,
		Response: Health{}, Handler: func(c *fiber.Ctx) error {
			if s.deps.Engine == nil || s.deps.Engine.Runtime() == nil || s.deps.Engine.Runtime().Failed() != nil {
				return fail(fiber.StatusServiceUnavailable, codeUnavailable, "the engine is not ready")
			}
			return c.JSON(Health{Status: "ok"})
		}})
	s.add(Route{Method: fiber.MethodGet, Path: "/metrics", Summary: "Prometheus metrics.", Tag: "operations", Public: true,
		Produces: "text/plain", Handler: adaptor.HTTPHandler(promhttp.HandlerFor(s.deps.Metrics.Registry, promhttp.HandlerOpts{}))})
	if s.deps.Pprof {
		s.app.Use(pprof.New())
	}
}

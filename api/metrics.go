package api

import (
	"bytes"
	"io"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the Prometheus metrics of the server: request latency here, and the engine's
// (queue depth, batch size, fsync latency) registered by cmd/huigong on the same registry.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.HistogramVec
}

// NewMetrics registers the API's metrics on reg (a new registry when nil).
func NewMetrics(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{Registry: reg, requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "huigong_http_request_seconds", Help: "HTTP request latency by route and status.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"method", "route", "status"})}
	reg.MustRegister(m.requests)
	return m
}

// observe times each request by its route pattern.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		_ = s.app.ErrorHandler(c, err)
		err = nil
	}
	s.deps.Metrics.requests.WithLabelValues(c.Method(), c.Route().Path, strconv.Itoa(c.Response().StatusCode())).Observe(time.Since(start).Seconds())
	return err
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

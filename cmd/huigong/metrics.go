package main

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// engineMetrics are the engine's Prometheus metrics, on the registry the API serves at
// /metrics. The runtime calls observe after every batch of every shard, so the per-shard
// metrics are resolved once here: observing costs an atomic add, no label lookup.
type engineMetrics struct {
	queueDepth   []prometheus.Gauge
	batchCommand []prometheus.Observer
	fsync        prometheus.Histogram
}

func newEngineMetrics(reg *prometheus.Registry, shards int) *engineMetrics {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	queue := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "huigong_shard_queue_depth", Help: "Requests waiting in a shard's queue after its last batch.",
	}, []string{"shard"})
	batch := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "huigong_shard_batch_commands", Help: "Commands decided per batch, per shard.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 14), // 1 to 8192, the runtime's batch limit
	}, []string{"shard"})
	fsync := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "huigong_journal_fsync_seconds", Help: "Duration of the journal's data fsyncs (one per group commit).",
		Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	})
	reg.MustRegister(queue, batch, fsync)
	m := &engineMetrics{fsync: fsync}
	for s := 0; s < shards; s++ {
		label := strconv.Itoa(s)
		m.queueDepth = append(m.queueDepth, queue.WithLabelValues(label))
		m.batchCommand = append(m.batchCommand, batch.WithLabelValues(label))
	}
	return m
}

// observe is the runtime's Observe hook.
func (m *engineMetrics) observe(shard uint32, commands int, queueDepth int) {
	m.queueDepth[shard].Set(float64(queueDepth))
	m.batchCommand[shard].Observe(float64(commands))
}

// fsyncLatency is the journal's FsyncLatency hook.
func (m *engineMetrics) fsyncLatency(d time.Duration) { m.fsync.Observe(d.Seconds()) }

package festival

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU is where the machine's CPU went during the load: the server and the load generator
// share the cores (FIELD-NOTES.md), and anything else running on the machine competes too.
type CPU struct {
	Cores int `json:"cores"`
	// LoadgenSeconds is the CPU time of this process during the load; MachineBusySeconds of
	// every process (from /proc/stat), so the rest is the server and whatever else ran.
	LoadgenSeconds     float64 `json:"loadgen_cpu_s"`
	MachineBusySeconds float64 `json:"machine_busy_cpu_s"`
	OthersSeconds      float64 `json:"server_and_others_cpu_s"`
	WallSeconds        float64 `json:"wall_s"`
	// LoadAvgBefore and LoadAvgAfter are the 1-minute load average: a high one before the
	// run says something else was competing for the cores.
	LoadAvgBefore float64 `json:"loadavg_1m_before"`
	LoadAvgAfter  float64 `json:"loadavg_1m_after"`
}

// cpuSample is a reading of the counters.
type cpuSample struct {
	at      time.Time
	self    time.Duration
	busy    float64 // seconds, all cores
	loadavg float64
}

func sampleCPU() cpuSample {
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		// cpu user nice system idle iowait irq softirq steal ...: busy is all but idle and iowait.
		if len(f) > 5 && f[0] == "cpu" {
			for i, v := range f[1:] {
				n, _ := strconv.ParseFloat(v, 64)
				if i != 3 && i != 4 {
					s.busy += n / 100 // USER_HZ is 100 on Linux
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			s.loadavg, _ = strconv.ParseFloat(f[0], 64)
		}
	}
	return s
}

func cpuBetween(a, b cpuSample) CPU {
	c := CPU{Cores: runtime.NumCPU(), LoadgenSeconds: round((b.self - a.self).Seconds(), 2),
		MachineBusySeconds: round(b.busy-a.busy, 2), WallSeconds: round(b.at.Sub(a.at).Seconds(), 2),
		LoadAvgBefore: a.loadavg, LoadAvgAfter: b.loadavg}
	c.OthersSeconds = round(max(0, c.MachineBusySeconds-c.LoadgenSeconds), 2)
	return c
}

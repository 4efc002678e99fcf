// Package simkit holds what the engine's simulations (engine/sim, engine/shardsim) share:
// opening the journal over the fault-injecting disk with crashes during its recovery, waiting
// with a bound, and dumping goroutines when a run hangs.
package simkit

import (
	"errors"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"time"

	"huigong/engine/journal"
)

// ErrTimeout is wrapped when Within gives up.
var ErrTimeout = errors.New("simulation: timed out")

// RecoveryCrashPercent is how often OpenJournal crashes the disk during the journal's recovery.
const RecoveryCrashPercent = 10

// OpenJournal opens the journal at "journal" over tfs. Now and then (drawn from faults) a
// crash strikes at one of the fsyncs of its recovery (the cut of a torn tail, the syncs of
// Open) first; the open after it must recover the same state. recoveryCrashed says whether
// that happened.
func OpenJournal(tfs *journal.SyncTrigger, fs *journal.FaultFS, faults *rand.Rand, segmentBytes int64) (j *journal.FileJournal, recoveryCrashed bool, err error) {
	open := func() (*journal.FileJournal, error) { return Journal(tfs, segmentBytes) }
	if faults.IntN(100) < RecoveryCrashPercent {
		tfs.Arm(1+faults.IntN(2), fs.Crash)
		j, err := open()
		if !tfs.Disarm() {
			return j, false, err
		}
		if err == nil {
			j.Close()
			return nil, true, errors.New("journal opened though the disk crashed during its recovery")
		}
		recoveryCrashed = true
	}
	j, err = open()
	return j, recoveryCrashed, err
}

// Journal opens the journal at "journal" over tfs, with no fault.
func Journal(tfs *journal.SyncTrigger, segmentBytes int64) (*journal.FileJournal, error) {
	j, err := journal.Open("journal", journal.Options{FS: tfs, SegmentBytes: segmentBytes})
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	return j, nil
}

// Within runs fn and gives up waiting for it after d.
func Within(d time.Duration, fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return fmt.Errorf("%w: did not return in %v", ErrTimeout, d)
	}
}

// Goroutines is a dump of every goroutine, for a run that hangs.
func Goroutines() string {
	buf := make([]byte, 1<<20)
	return string(buf[:goruntime.Stack(buf, true)])
}

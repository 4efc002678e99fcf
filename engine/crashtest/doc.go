// Package crashtest holds the crash test of the real process: TestCrashKill9 builds the server
// in ./server (the shard runtime of ledger machines on the file journal, behind a line
// protocol), drives transfers and cross-shard moves at it from several connections, kills it
// with SIGKILL at random moments and restarts it on the same data directory, then checks that
// every acknowledged transfer is present, nothing is present that was never submitted, every
// balance is the sum of its transfers, and the whole journal replays offline to the same state.
//
//	go test -race -count=1 ./engine/crashtest/ -crash.seed=N -crash.kills=K
package crashtest

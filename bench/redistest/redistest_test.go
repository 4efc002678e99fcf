package redistest_test

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"huigong/bench/redistest"
)

func TestStartCommandStop(t *testing.T) {
	s := redistest.New(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("get %q %v", v, err)
	}
	cfg, err := c.ConfigGet(ctx, "appendonly").Result()
	if err != nil || cfg["appendonly"] != "no" {
		t.Fatalf("appendonly %v %v", cfg, err)
	}
	pid, dir := s.Pid(), s.Dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("redis-server %d still runs after Stop", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after Stop: %v", dir, err)
	}
}

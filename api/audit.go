package api

import (
	"encoding/json"
	"os"
	"sync"
	"time"
)

// AuditEntry records one change made by an officer, the federation, a merchant or a module.
type AuditEntry struct {
	Time    time.Time `json:"time"`
	Role    string    `json:"role"`
	Actor   uint64    `json:"actor"`
	Union   uint64    `json:"union,omitempty"`
	Action  string    `json:"action"`
	Target  string    `json:"target,omitempty"`
	Outcome string    `json:"outcome"`
	Detail  any       `json:"detail,omitempty"`
	Request string    `json:"request_id,omitempty"`
}

// AuditLog keeps audit entries.
type AuditLog interface {
	Record(e AuditEntry) error
	// Entries returns the entries of a union (all when union is zero), oldest first.
	Entries(union uint64) ([]AuditEntry, error)
}

// DiscardAudit keeps nothing.
type DiscardAudit struct{}

func (DiscardAudit) Record(AuditEntry) error              { return nil }
func (DiscardAudit) Entries(uint64) ([]AuditEntry, error) { return nil, nil }

// FileAudit appends JSON lines to a file and syncs each, so an acknowledged change is never
// missing from the audit trail; it also keeps them in memory for reports.
type FileAudit struct {
	mu      sync.Mutex
	f       *os.File
	entries []AuditEntry
}

// OpenFileAudit opens (or creates) the audit file and reads what it holds.
func OpenFileAudit(path string) (*FileAudit, error) {
	a := &FileAudit{}
	if data, err := os.ReadFile(path); err == nil {
		dec := json.NewDecoder(bytesReader(data))
		for dec.More() {
			var e AuditEntry
			if err := dec.Decode(&e); err != nil {
				break // A torn last line from a crash: the entries before it stand.
			}
			a.entries = append(a.entries, e)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	a.f = f
	return a, nil
}

func (a *FileAudit) Record(e AuditEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(append(b, '\n')); err != nil {
		return err
	}
	if err := a.f.Sync(); err != nil {
		return err
	}
	a.entries = append(a.entries, e)
	return nil
}

func (a *FileAudit) Entries(union uint64) ([]AuditEntry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AuditEntry
	for _, e := range a.entries {
		if union == 0 || e.Union == union {
			out = append(out, e)
		}
	}
	return out, nil
}

// Close closes the file.
func (a *FileAudit) Close() error { return a.f.Close() }

// MemoryAudit keeps entries in memory, for tests.
type MemoryAudit struct {
	mu      sync.Mutex
	entries []AuditEntry
}

func (m *MemoryAudit) Record(e AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries = append(m.entries, e)
	return nil
}

func (m *MemoryAudit) Entries(union uint64) ([]AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AuditEntry
	for _, e := range m.entries {
		if union == 0 || e.Union == union {
			out = append(out, e)
		}
	}
	return out, nil
}

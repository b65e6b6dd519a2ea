package main

import (
	"context"
	"sync"
)

// Metric is the job queue's metrics, as its JSON endpoint serves them.
type Metric struct {
	JobsCreated    int64 `json:"jobs_created"`     // counter: jobs accepted
	JobsCompleted  int64 `json:"jobs_completed"`   // counter: jobs that succeeded
	JobsFailed     int64 `json:"jobs_failed"`      // counter: attempts that failed
	JobsRetried    int64 `json:"jobs_retried"`     // counter: failed jobs put back in the queue
	JobsInProgress int64 `json:"jobs_in_progress"` // gauge: jobs being processed now
}

// MetricStore is where every metric update goes: handlers and workers never touch a
// Metric directly.
type MetricStore interface {
	GetMetrics(ctx context.Context) (*Metric, error)
	IncrementJobsCreated(ctx context.Context) error
	IncrementJobsInProgress(ctx context.Context) error
	IncrementJobsCompleted(ctx context.Context) error // also decrements in-progress
	IncrementJobsFailed(ctx context.Context) error    // also decrements in-progress
	IncrementJobsRetried(ctx context.Context) error
}

// InMemoryMetricStore keeps the metrics in memory behind a mutex. They start from zero
// with the process: a restart is a reset, which snapbridge accounts for.
type InMemoryMetricStore struct {
	mu      sync.RWMutex
	metrics Metric
}

func NewInMemoryMetricStore() *InMemoryMetricStore {
	return &InMemoryMetricStore{}
}

// GetMetrics returns a copy, never a pointer to the internal state.
func (s *InMemoryMetricStore) GetMetrics(ctx context.Context) (*Metric, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.metrics
	return &m, nil
}

func (s *InMemoryMetricStore) update(f func(m *Metric)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.metrics)
	return nil
}

func (s *InMemoryMetricStore) IncrementJobsCreated(ctx context.Context) error {
	return s.update(func(m *Metric) { m.JobsCreated++ })
}

func (s *InMemoryMetricStore) IncrementJobsInProgress(ctx context.Context) error {
	return s.update(func(m *Metric) { m.JobsInProgress++ })
}

func (s *InMemoryMetricStore) IncrementJobsCompleted(ctx context.Context) error {
	return s.update(func(m *Metric) { m.JobsCompleted++; m.JobsInProgress-- })
}

func (s *InMemoryMetricStore) IncrementJobsFailed(ctx context.Context) error {
	return s.update(func(m *Metric) { m.JobsFailed++; m.JobsInProgress-- })
}

func (s *InMemoryMetricStore) IncrementJobsRetried(ctx context.Context) error {
	return s.update(func(m *Metric) { m.JobsRetried++ })
}

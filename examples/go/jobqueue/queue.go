package main

import (
	"context"
	"errors"
	"log"
	"sync"
	"time"
)

// Job is one unit of work.
type Job struct {
	ID       int64
	Work     time.Duration // how long processing takes
	Attempts int
}

// Queue holds pending jobs for the workers and failed jobs for the sweeper.
type Queue struct {
	metrics MetricStore
	pending chan *Job

	mu     sync.Mutex
	nextID int64
	failed []*Job
}

func NewQueue(metrics MetricStore, capacity int) *Queue {
	return &Queue{metrics: metrics, pending: make(chan *Job, capacity)}
}

var errQueueFull = errors.New("queue full")

// CreateJob enqueues a job and counts it.
func (q *Queue) CreateJob(ctx context.Context, work time.Duration) (*Job, error) {
	q.mu.Lock()
	q.nextID++
	job := &Job{ID: q.nextID, Work: work}
	q.mu.Unlock()
	select {
	case q.pending <- job:
	default:
		return nil, errQueueFull
	}
	q.metrics.IncrementJobsCreated(ctx)
	return job, nil
}

// Worker processes jobs until ctx is done.
func (q *Queue) Worker(ctx context.Context, id int) {
	for {
		select {
		case <-ctx.Done():
			return
		case job := <-q.pending:
			q.process(ctx, id, job)
		}
	}
}

func (q *Queue) process(ctx context.Context, worker int, job *Job) {
	job.Attempts++
	q.metrics.IncrementJobsInProgress(ctx)
	select {
	case <-time.After(job.Work):
	case <-ctx.Done():
		return // shutting down: the job dies with the process
	}
	if err := simulatedWork(job); err != nil {
		log.Printf("worker %d: job %d attempt %d failed: %v", worker, job.ID, job.Attempts, err)
		q.metrics.IncrementJobsFailed(ctx)
		q.mu.Lock()
		q.failed = append(q.failed, job)
		q.mu.Unlock()
		return
	}
	q.metrics.IncrementJobsCompleted(ctx)
}

// simulatedWork fails the first attempt of every fifth job, so the demo has failures and
// retries to show (and they are predictable).
func simulatedWork(job *Job) error {
	if job.ID%5 == 0 && job.Attempts == 1 {
		return errors.New("upstream timeout")
	}
	return nil
}

// Sweeper puts failed jobs back in the queue every `every`.
func (q *Queue) Sweeper(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			q.RetryFailedJobs(ctx)
		}
	}
}

// RetryFailedJobs requeues every failed job and counts each retry.
func (q *Queue) RetryFailedJobs(ctx context.Context) {
	q.mu.Lock()
	jobs := q.failed
	q.failed = nil
	q.mu.Unlock()
	for i, job := range jobs {
		select {
		case q.pending <- job:
			q.metrics.IncrementJobsRetried(ctx)
		default: // full: try the rest on the next sweep
			q.mu.Lock()
			q.failed = append(q.failed, jobs[i:]...)
			q.mu.Unlock()
			return
		}
	}
}

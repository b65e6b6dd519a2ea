// A job queue with an in-memory metric store and a JSON metrics endpoint:
//
//	GET  /metrics                 {"jobs_created": 120, "jobs_completed": 110, ...}
//	POST /jobs?n=3&work=200ms     creates jobs (n, default 1; work, default 100ms)
//
// A producer creates a job every -produce-every (0: only POST /jobs does), -workers workers
// process them, and a sweeper retries failed jobs. snapbridge reads /metrics with
// kind = "http" (see snapbridge.toml next to this file).
//
//	go run . -listen 127.0.0.1:8080
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log"
	"math/rand"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address of the HTTP endpoint")
	workers := flag.Int("workers", 3, "number of workers")
	produceEvery := flag.Duration("produce-every", 200*time.Millisecond, "create a job this often (0: never)")
	retryEvery := flag.Duration("retry-every", time.Second, "how often failed jobs are retried")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	metrics := NewInMemoryMetricStore()
	queue := NewQueue(metrics, 100000)
	for i := 1; i <= *workers; i++ {
		go queue.Worker(ctx, i)
	}
	go queue.Sweeper(ctx, *retryEvery)
	if *produceEvery > 0 {
		go produce(ctx, queue, *produceEvery)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		m, err := metrics.GetMetrics(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(m)
	})
	mux.HandleFunc("POST /jobs", func(w http.ResponseWriter, r *http.Request) {
		n, work, err := jobParams(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := []int64{}
		for range n {
			job, err := queue.CreateJob(r.Context(), work)
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			ids = append(ids, job.ID)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"created": ids})
	})

	server := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(shutdown)
	}()
	log.Printf("job queue: metrics on http://%s/metrics", *listen)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func jobParams(r *http.Request) (int, time.Duration, error) {
	n, work := 1, 100*time.Millisecond
	var err error
	if s := r.URL.Query().Get("n"); s != "" {
		if n, err = strconv.Atoi(s); err != nil || n < 1 || n > 10000 {
			return 0, 0, errors.New("n: a number of jobs from 1 to 10000")
		}
	}
	if s := r.URL.Query().Get("work"); s != "" {
		if work, err = time.ParseDuration(s); err != nil || work < 0 {
			return 0, 0, errors.New("work: a duration such as 250ms")
		}
	}
	return n, work, nil
}

// produce creates a job every `every`, each taking 50 to 300 ms.
func produce(ctx context.Context, queue *Queue, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			work := time.Duration(50+rand.Intn(250)) * time.Millisecond
			if _, err := queue.CreateJob(ctx, work); err != nil {
				log.Printf("producer: %v", err)
			}
		}
	}
}

package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress reports a long operation's progress on stderr: a bar with
// count, rate and ETA when stderr is a terminal, else a plain line every
// progressEvery records or progressPeriod, and one at the end.
type progress struct {
	e     *env
	what  string
	total int64 // -1: unknown

	mu    sync.Mutex
	n     int64
	start time.Time
	lastN int64
	lastT time.Time
	bar   *progressbar.ProgressBar
}

const (
	progressEvery  = 10000
	progressPeriod = 5 * time.Second
)

func (e *env) progress(what string, total int) *progress {
	p := &progress{e: e, what: what, total: int64(total), start: time.Now()}
	p.lastT = p.start
	if isTerminal(e.stderr) {
		p.bar = progressbar.NewOptions64(p.total,
			progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rec"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(e.stderr) }),
		)
	}
	return p
}

// add counts n more records done.
func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += int64(n)
	if p.bar != nil {
		p.bar.Add(n)
		return
	}
	now := time.Now()
	if p.n-p.lastN >= progressEvery || now.Sub(p.lastT) >= progressPeriod {
		p.line(now)
	}
}

func (p *progress) line(now time.Time) {
	rate := float64(p.n) / max(now.Sub(p.start).Seconds(), 1e-3)
	if p.total >= 0 {
		fmt.Fprintf(p.e.stderr, "%s: %d/%d records, %.0f/s\n", p.what, p.n, p.total, rate)
	} else {
		fmt.Fprintf(p.e.stderr, "%s: %d records, %.0f/s\n", p.what, p.n, rate)
	}
	p.lastN, p.lastT = p.n, now
}

// done ends the report.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		return
	}
	now := time.Now()
	fmt.Fprintf(p.e.stderr, "%s: done, %d records in %.1fs\n", p.what, p.n, now.Sub(p.start).Seconds())
}

// busy reports an operation whose library call gives no counts (Check,
// Reindex): a spinner with the elapsed time on a terminal, else a plain
// line every progressPeriod, and one at the end. The returned function
// ends the report.
func (e *env) busy(what string) func() {
	start := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	var bar *progressbar.ProgressBar
	if isTerminal(e.stderr) {
		bar = progressbar.NewOptions(-1, progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription(what), progressbar.OptionSpinnerType(14),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(e.stderr) }))
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(map[bool]time.Duration{true: 100 * time.Millisecond, false: progressPeriod}[bar != nil])
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if bar != nil {
					bar.Add(0)
				} else {
					fmt.Fprintf(e.stderr, "%s: running, %.0fs\n", what, time.Since(start).Seconds())
				}
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		if bar != nil {
			bar.Finish()
			return
		}
		fmt.Fprintf(e.stderr, "%s: done in %.1fs\n", what, time.Since(start).Seconds())
	}
}

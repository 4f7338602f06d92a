package main

import (
	"context"
	"fmt"
	"io"

	"github.com/dagr/dagr"
)

// startDashboard serves s's live dashboard at cfg.Dash, when it is set,
// and prints its URL to w. stop stops it.
func startDashboard(s *dagr.Scheduler, cfg demoConfig, w io.Writer) (stop func(), err error) {
	if cfg.Dash == "" {
		return func() {}, nil
	}
	url, stopServing, err := s.ServeDashboard(cfg.Dash)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "dashboard: %s\n", url)
	return func() {
		if err := stopServing(); err != nil {
			fmt.Fprintln(w, err)
		}
	}, nil
}

// holdDashboard returns at once without cfg.Hold; with it, it keeps the
// dashboard served until ctx ends (an interrupt), which ends the demo
// normally.
func holdDashboard(ctx context.Context, cfg demoConfig, w io.Writer) error {
	if !cfg.Hold {
		return nil
	}
	fmt.Fprintln(w, "dashboard: served until interrupted (Ctrl-C)")
	<-ctx.Done()
	return nil
}

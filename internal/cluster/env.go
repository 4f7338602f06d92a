package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/dagr/dagr/internal/natstransport"
)

// EnvVar is the environment variable that makes a process of the program
// a worker: Main finds it and serves. Its value, a Join in JSON, holds the
// run's credentials.
const EnvVar = "DAGR_WORKER"

// Join is what a worker needs to join its run.
type Join struct {
	Run    string                    `json:"run"`
	Worker int                       `json:"worker"`
	Procs  int                       `json:"procs,omitempty"` // the worker's processors; 0: its GOMAXPROCS
	Creds  natstransport.Credentials `json:"nats"`
	Beat   time.Duration             `json:"beat,omitempty"` // how often to send a heartbeat (wire.Beat); 0: never
}

// subjects are a run's NATS subjects: all under one prefix, so that runs
// sharing a server never see each other's messages.
type subjects struct{ prefix string }

func subjectsOf(run string) subjects { return subjects{"dagr." + run} }

func (s subjects) join() string         { return s.prefix + ".join" }
func (s subjects) up() string           { return s.prefix + ".up" }
func (s subjects) ask() string          { return s.prefix + ".ask" }
func (s subjects) beat() string         { return s.prefix + ".beat" }
func (s subjects) gone() string         { return s.prefix + ".gone" }
func (s subjects) worker(id int) string { return fmt.Sprintf("%s.w.%d", s.prefix, id) }
func (s subjects) data(id int) string   { return fmt.Sprintf("%s.d.%d", s.prefix, id) }

// joinFromEnv returns the Join of a process started as a worker.
func joinFromEnv() (Join, bool, error) {
	v, ok := os.LookupEnv(EnvVar)
	if !ok {
		return Join{}, false, nil
	}
	j, err := parseJoin(v)
	return j, true, err
}

// parseJoin decodes the value of EnvVar.
func parseJoin(v string) (Join, error) {
	var j Join
	if err := json.Unmarshal([]byte(v), &j); err != nil {
		return Join{}, fmt.Errorf("dagr: %s does not hold a worker's settings: %w", EnvVar, err)
	}
	if j.Run == "" || j.Worker < 2 || j.Creds.URL == "" {
		return Join{}, fmt.Errorf("dagr: %s misses the run, the worker id or the server's URL", EnvVar)
	}
	if j.Procs < 0 || j.Beat < 0 {
		return Join{}, fmt.Errorf("dagr: %s asks for %d processors", EnvVar, j.Procs)
	}
	return j, nil
}

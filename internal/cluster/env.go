package cluster

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/dagr/dagr/internal/natstransport"
)

// EnvVar is the environment variable that makes a process of the program
// a worker that AddProcs started: Main finds it and serves. Its value, a
// Join in JSON, holds the run's credentials.
const EnvVar = "DAGR_WORKER"

// JoinEnv is the environment variable that makes a process of the
// program, started by anyone on any machine, join a run as a worker: its
// value is the run's join URL (see JoinURL and parseJoinURL).
const JoinEnv = "DAGR_JOIN"

// Join is what a worker needs to join its run.
type Join struct {
	Run    string                    `json:"run"`
	Worker int                       `json:"worker"`          // its id; a worker that joins by URL gets one from worker 1
	Procs  int                       `json:"procs,omitempty"` // the worker's processors; 0: its GOMAXPROCS
	Creds  natstransport.Credentials `json:"nats"`
	Beat   time.Duration             `json:"beat,omitempty"` // how often to send a heartbeat (wire.Beat); 0: never
	Key    string                    `json:"key,omitempty"`  // the run's secret, which proves a stream's client to be of the run
	// Streams says that the run's processes are all on this machine, and
	// move values over TCP streams on loopback (see mover).
	Streams bool `json:"streams,omitempty"`
	// Remote says that the worker joins by URL: worker 1 did not start
	// it, and its end shows in its heartbeats' answers alone.
	Remote bool `json:"-"`
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
	if v, ok := os.LookupEnv(EnvVar); ok {
		j, err := parseJoin(v)
		return j, true, err
	}
	if v, ok := os.LookupEnv(JoinEnv); ok {
		j, err := parseJoinURL(v)
		return j, true, err
	}
	return Join{}, false, nil
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

// joinURL returns the join URL of a run: where its NATS servers are
// (scheme nats or tls, user and password, one host or several separated
// by commas), the run as the path, and as query parameters its secret
// (key), the fingerprint of a certificate to pin (pin), and files on the
// worker's machine: the CAs to verify the servers with (ca), a NATS
// credentials file (creds), an nkey seed (nkey).
func joinURL(run, key string, creds natstransport.Credentials) string {
	scheme, hosts := "nats", []string{}
	user := (*url.Userinfo)(nil)
	if creds.User != "" || creds.Pass != "" {
		user = url.UserPassword(creds.User, creds.Pass)
	}
	for _, u := range strings.Split(creds.URL, ",") {
		if p, err := url.Parse(strings.TrimSpace(u)); err == nil && p.Host != "" {
			scheme = p.Scheme
			host := p.Host
			if p.Port() == "" {
				host = net.JoinHostPort(p.Hostname(), "4222") // NATS's port
			}
			hosts = append(hosts, host)
			if user == nil {
				user = p.User
			}
		}
	}
	u := url.URL{Scheme: scheme, Host: strings.Join(hosts, ","), Path: "/" + run, User: user}
	q := url.Values{"key": {key}}
	for name, v := range map[string]string{"pin": creds.Pin, "ca": creds.CA, "creds": creds.Creds, "nkey": creds.NKey} {
		if v != "" {
			q.Set(name, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// parseJoinURL decodes a join URL (see joinURL). A procs parameter sets
// the worker's processors.
func parseJoinURL(v string) (Join, error) {
	bad := func(format string, args ...any) (Join, error) {
		return Join{}, fmt.Errorf("dagr: %s: "+format, append([]any{JoinEnv}, args...)...)
	}
	u, err := url.Parse(v)
	if err != nil {
		return bad("not a join URL: %v", err)
	}
	if u.Scheme != "nats" && u.Scheme != "tls" {
		return bad("the scheme is %q; it must be nats or tls", u.Scheme)
	}
	run := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || run == "" || strings.ContainsAny(run, "/.*> ") {
		return bad("a join URL is scheme://[user:pass@]host:port[,host:port...]/run?key=...; %q has no server or no run", u.Redacted())
	}
	q := u.Query()
	j := Join{Run: run, Key: q.Get("key"), Remote: true}
	if j.Key == "" {
		return bad("%q has no key", u.Redacted())
	}
	var urls []string
	for _, h := range strings.Split(u.Host, ",") {
		host, port, err := net.SplitHostPort(h)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return bad("%q names a server %q that is not host:port", u.Redacted(), h)
		}
		urls = append(urls, u.Scheme+"://"+h)
	}
	j.Creds = natstransport.Credentials{URL: strings.Join(urls, ","), Pin: q.Get("pin"), CA: q.Get("ca"), Creds: q.Get("creds"), NKey: q.Get("nkey")}
	if u.User != nil {
		j.Creds.User = u.User.Username()
		j.Creds.Pass, _ = u.User.Password()
	}
	if p := q.Get("procs"); p != "" {
		if j.Procs, err = strconv.Atoi(p); err != nil || j.Procs < 0 {
			return bad("procs is %q; it must be a number of processors", p)
		}
	}
	return j, nil
}
